#!/usr/bin/env bash
# Installs what Prism's tests and oracles need on a fresh Debian machine (run as root, or with sudo).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    qemu-utils python3 python3-libvhdi libvhdi-utils ntfs-3g libfsntfs-utils \
    clamav clamav-daemon fuse3 fdisk bzip2 xz-utils ca-certificates \
    e2fsprogs fuse2fs sleuthkit libnbd-bin nbdkit openssl 7zip postgresql >/dev/null
command -v dotnet >/dev/null || { echo "bootstrap: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
# The PowerShell module's out-of-process tests run real pwsh from the local tool manifest.
if [ -f "$(dirname "$0")/../.config/dotnet-tools.json" ]; then
    (cd "$(dirname "$0")/.." && dotnet tool restore >/dev/null)
fi
