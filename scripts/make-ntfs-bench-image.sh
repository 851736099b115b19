#!/usr/bin/env bash
# Builds the raw NTFS image used by `prism bench ntfs`: 100,000 files (small resident ones, every 20th
# non-resident, a few fragmented) over 400 directories two levels deep, plus /large.bin (256 MiB), on a
# 4 GiB sparse raw file formatted with 4 KiB clusters. Needs root (FUSE mount through ntfs-3g).
# MIXED_MIB > 0 adds /apps: files of mixed sizes (4 KiB to 4 MiB, log-uniform, seeded) adding up to about that many MiB,
# as a server install's binaries and libraries (issue #16 uses 800 for a golden of more than 1 GiB).
#   scripts/make-ntfs-bench-image.sh [OUT.img] [FILES] [MIXED_MIB]   (default /work/bench-ntfs/ntfs-100k.img, 100000, 0)
set -euo pipefail
out="${1:-/work/bench-ntfs/ntfs-100k.img}"
files="${2:-100000}"
mixed_mib="${3:-0}"
dirs=400
mkdir -p "$(dirname "$out")"
rm -f "$out"
truncate -s 4G "$out"
mkntfs -F -f -q -c 4096 -L prism-bench "$out"
mnt="$(mktemp -d)"
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT
ntfs-3g -o big_writes "$out" "$mnt"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$mnt/large.bin"
small="$(head -c 200 /dev/urandom | base64 -w0)"
big="$(head -c 6000 /dev/urandom | base64 -w0)"
per_dir=$((files / dirs))
n=0
for ((d = 0; d < dirs; d++)); do
    dir="$mnt/d$((d / 20))/sub$d"
    mkdir -p "$dir"
    for ((f = 0; f < per_dir && n < files; f++, n++)); do
        if ((n % 20 == 0)); then
            printf '%s%d' "$big" "$n" >"$dir/file$f.bin"
        else
            printf '%s%d' "$small" "$n" >"$dir/file$f.txt"
        fi
    done
done
# A few fragmented files: interleaved appends leave their clusters in several runs.
mkdir -p "$mnt/frag"
for ((r = 0; r < 8; r++)); do
    for ((i = 0; i < 16; i++)); do
        head -c 65536 /dev/urandom >>"$mnt/frag/f$i.bin"
    done
done
if ((mixed_mib > 0)); then
    python3 - "$mnt/apps" "$mixed_mib" <<'PY'
import os, random, sys
root, budget = sys.argv[1], int(sys.argv[2]) << 20
rnd = random.Random(16)
done = n = 0
while done < budget:
    d = '%s/pkg%03d' % (root, n // 50)
    os.makedirs(d, exist_ok=True)
    size = int(2 ** rnd.uniform(12, 22))
    with open('%s/lib%05d.so' % (d, n), 'wb') as h: h.write(rnd.randbytes(size))
    done += size
    n += 1
print('apps: %d files, %d MiB' % (n, done >> 20))
PY
fi
sync
umount "$mnt"
echo "$out: $files files in $dirs directories, /large.bin 256 MiB, /frag (16 fragmented files), /apps ${mixed_mib} MiB, 4 KiB clusters"
