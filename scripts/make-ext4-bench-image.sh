#!/usr/bin/env bash
# Builds the raw ext4 image used by `prism bench ext4`: FILES files (default 100,000) spread like a server install
# (/usr/lib, /usr/share, /var/lib, /etc, /opt: packages of 5-60 files, 2-5 levels deep, ~5,000 directories; mostly
# small files, every 20th 20-200 KiB, a few symlinks and hard links) on a 2 GiB sparse raw file, 4 KiB blocks,
# made with mke2fs -d (no mount, no root needed).
#   scripts/make-ext4-bench-image.sh [OUT.img] [FILES]        (default /work/bench-ext4/ext4-100k.img, 100000)
set -euo pipefail
out="${1:-/work/bench-ext4/ext4-100k.img}"
files="${2:-100000}"
mkdir -p "$(dirname "$out")"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
python3 - "$tree" "$files" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2])
rnd = random.Random(2024)
tops = ['usr/lib', 'usr/share', 'usr/lib/python3/dist-packages', 'var/lib', 'etc', 'opt', 'usr/include', 'usr/share/doc']
n = 0
pkg = 0
while n < total:
    base = os.path.join(root, rnd.choice(tops), 'pkg%05d' % pkg)
    pkg += 1
    dirs = [base] + [os.path.join(base, *['sub%d' % rnd.randrange(4) for _ in range(rnd.randrange(1, 4))]) for _ in range(rnd.randrange(0, 4))]
    for d in dirs:
        os.makedirs(d, exist_ok=True)
    for i in range(rnd.randrange(5, 60)):
        if n >= total:
            break
        d = rnd.choice(dirs)
        p = os.path.join(d, 'file%03d%s' % (i, rnd.choice(['.so', '.py', '.h', '.conf', '.txt', ''])))
        if os.path.exists(p):
            continue
        size = rnd.randrange(20000, 200000) if n % 20 == 0 else rnd.randrange(100, 8000)
        with open(p, 'wb') as f:
            f.write(os.urandom(size))
        n += 1
        if n % 500 == 0 and n < total:
            os.symlink(os.path.basename(p), p + '.link'); n += 1
        if n % 700 == 0 and n < total:
            os.link(p, p + '.hard'); n += 1
print('%d files in %d packages' % (n, pkg))
PY
rm -f "$out"
truncate -s 2G "$out"
mke2fs -q -F -t ext4 -b 4096 -L prism-bench -d "$tree" "$out"
echo "$out: $files files, ext4, 4 KiB blocks"
