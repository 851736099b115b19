#!/usr/bin/env bash
# clone new --count N on a SQLite catalog vs a PostgreSQL catalog (a throwaway local cluster with default durability),
# alternating, same golden, same machine. Prints each run's time and the PostgreSQL/SQLite ratio of the medians.
# Usage: scripts/bench-catalog.sh [N=1000] [ROUNDS=3]   (needs a built prism.dll: PRISM_DLL, and Debian's postgresql)
set -euo pipefail
N=${1:-1000}; ROUNDS=${2:-3}
DLL=${PRISM_DLL:-$(ls -t "$(dirname "$0")"/../src/Prism.Cli/bin/Release/net*/prism.dll | head -1)}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
W=$(mktemp -d /tmp/prism-bench-XXXXXX); chmod 755 "$W"
PG="$W/pg"; mkdir "$PG"; PW=bench-$RANDOM$RANDOM; echo "$PW" > "$PG/pw"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown -R nobody:nogroup "$PG"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$BIN/initdb" -D "$PG/data" -U prism --pwfile="$PG/pw" --auth-host=scram-sha-256 --auth-local=trust --no-locale -E UTF8 >/dev/null
as_pg "$BIN/pg_ctl" -D "$PG/data" -l "$PG/log" -w -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PG" start >/dev/null
trap 'as_pg "$BIN/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null; rm -rf "$W"' EXIT
prism() { dotnet "$DLL" "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
declare -a S P
for r in $(seq 1 "$ROUNDS"); do
  for kind in sqlite pg; do
    d="$W/$kind-$r"; mkdir -p "$d"
    if [ $kind = sqlite ]; then cat="$d/catalog.db"; else
      as_pg "$BIN/psql" -h "$PG" -p "$PORT" -U prism -d postgres -qc "CREATE DATABASE b$r" >/dev/null
      cat="postgresql://prism:$PW@127.0.0.1:$PORT/b$r"; fi
    prism disk create "$d/base.vhdx" --size 64M >/dev/null
    prism golden add "$d/base.vhdx" --catalog "$cat" >/dev/null
    t=$(prism clone new base --count "$N" --prefix vm --quiet --catalog "$cat" | sed -n 's/.* in \([0-9.]*\) s$/\1/p')
    echo "round $r $kind: $N clones in $t s"
    if [ $kind = sqlite ]; then S+=("$t"); else P+=("$t"); fi
  done
done
ms=$(printf '%s\n' "${S[@]}" | median); mp=$(printf '%s\n' "${P[@]}" | median)
echo "median sqlite $ms s, postgresql $mp s, ratio $(python3 -c "print(round($mp/$ms,3))"), load $(cut -d' ' -f1-3 /proc/loadavg)"
