#!/usr/bin/env bash
# Rebuilds src/Prism.Cli/Demo/golden-ntfs.vhdx.gz, the small golden NTFS disk `prism demo` ships with:
# a 32 MiB disk, MBR with one NTFS partition at 1 MiB (mkntfs -T, 4 KiB clusters), a readme, a config and six
# compressible "libraries". Needs ntfs-3g (mkntfs, ntfscp), fdisk (sfdisk) and a built prism CLI.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
prism=(dotnet run --project "$repo/src/Prism.Cli" -c Release --)
truncate -s 31M vol.raw
mkntfs -F -Q -T -c 4096 -L golden vol.raw >/dev/null
printf 'Golden image v1 for web servers.\r\n%.0s' $(seq 20) > readme.txt
printf '<config><port>8080</port></config>\r\n%.0s' $(seq 40) > app.config
python3 - <<'PY'
import random
random.seed(7)
for i in range(6):
    blk = bytes(random.getrandbits(8) for _ in range(2048))
    n = random.randint(200_000, 900_000)
    out = bytearray()
    j = 0
    while len(out) < n:
        out += blk[j % 97:] + j.to_bytes(4, 'little')
        j += 1
    open(f'lib{i}.dll', 'wb').write(bytes(out[:n]))
PY
for f in readme.txt app.config lib*.dll; do ntfscp -f vol.raw "$f" "/$f" >/dev/null; done
truncate -s 32M disk.raw
printf 'label: dos\nlabel-id: 0x50524953\nstart=2048, type=7\n' | sfdisk -q disk.raw
dd if=vol.raw of=disk.raw bs=1M seek=1 conv=notrunc status=none
"${prism[@]}" disk import disk.raw golden-ntfs.vhdx --block-size 1MiB
gzip -9 -c golden-ntfs.vhdx > "$repo/src/Prism.Cli/Demo/golden-ntfs.vhdx.gz"
echo "wrote $repo/src/Prism.Cli/Demo/golden-ntfs.vhdx.gz"
