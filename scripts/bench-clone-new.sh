#!/usr/bin/env bash
# Measures `prism clone new GOLDEN --count N` end to end (process start included) against a loop of
# `qemu-img create -f qcow2 -b base.qcow2 -F qcow2 cI.qcow2` on the same machine, in the same run.
#   scripts/bench-clone-new.sh [N] [path/to/prism.dll]      (build first: dotnet build Prism.sln -c Release)
set -euo pipefail
n="${1:-1000}"
dll="${2:-$(cd "$(dirname "$0")/.." && pwd)/src/Prism.Cli/bin/Release/net10.0/prism.dll}"
[ -f "$dll" ] || { echo "bench-clone-new: $dll not found (build Release first)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
mkdir -p "$work/prism" "$work/qemu"
export PRISM_CATALOG="$work/catalog.db"
dotnet "$dll" disk create "$work/prism/base.vhdx" --size 64M >/dev/null
dotnet "$dll" golden add "$work/prism/base.vhdx" --name base >/dev/null
now() { date +%s.%N; }
t0=$(now)
out="$(dotnet "$dll" clone new base --count "$n" --prefix c --quiet)"
t1=$(now)
count=$(ls "$work/prism" | grep -c '^c-.*\.vhdx$')
[ "$count" = "$n" ] || { echo "expected $n clones, found $count" >&2; exit 1; }
qemu-img create -q -f qcow2 "$work/qemu/base.qcow2" 64M
t2=$(now)
for ((i = 1; i <= n; i++)); do
    qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$work/qemu/c$i.qcow2"
done
t3=$(now)
prism_s=$(echo "$t1 - $t0" | bc -l)
qemu_s=$(echo "$t3 - $t2" | bc -l)
echo "prism clone new --count $n: ${prism_s} s end to end ($(echo "$out" | tail -1))"
echo "prism per clone: $(echo "1000 * $prism_s / $n" | bc -l | cut -c1-6) ms"
echo "qemu-img loop x$n: ${qemu_s} s, per clone $(echo "1000 * $qemu_s / $n" | bc -l | cut -c1-6) ms"
echo "ratio (qemu-img per clone / prism per clone): $(echo "$qemu_s / $prism_s" | bc -l | cut -c1-6)x"
