#!/usr/bin/env bash
# Installs the nightly Prism fleet scan as a systemd service + timer (Linux hosts).
# The service runs `prism scan --catalog` over every golden image and its clones, writes a timestamped JSON report
# into the report directory, keeps the newest N reports and reuses verdicts through a store.
#
#   sudo scripts/install-nightly-scan.sh --prism /usr/local/bin/prism --signatures /var/lib/prism/signatures \
#        [--catalog /var/lib/prism/catalog.db] [--reports /var/lib/prism/reports] [--keep 14] [--at 02:00] [--unit-dir DIR] [--dry-run]
#
# --dry-run prints the unit files instead of installing them; --unit-dir writes them elsewhere (no systemctl calls).
set -euo pipefail
prism="" signatures="" catalog="/var/lib/prism/catalog.db" reports="/var/lib/prism/reports" keep=14 at="02:00"
unit_dir="/etc/systemd/system" dry_run=0 custom_dir=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prism) prism="$2"; shift 2 ;;
        --signatures) signatures="$2"; shift 2 ;;
        --catalog) catalog="$2"; shift 2 ;;
        --reports) reports="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --at) at="$2"; shift 2 ;;
        --unit-dir) unit_dir="$2"; custom_dir=1; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "install-nightly-scan: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$prism" ] || { echo "install-nightly-scan: --prism PATH (the prism executable) is required" >&2; exit 2; }
[ -n "$signatures" ] || { echo "install-nightly-scan: --signatures PATH (ClamAV .hdb/.hsb/.ndb/.cvd files or a directory) is required" >&2; exit 2; }
[[ "$keep" =~ ^[0-9]+$ ]] || { echo "install-nightly-scan: --keep must be a number" >&2; exit 2; }
[[ "$at" =~ ^[0-2][0-9]:[0-5][0-9]$ ]] || { echo "install-nightly-scan: --at must be HH:MM" >&2; exit 2; }
store="$(dirname "$reports")/verdicts.db"

service="[Unit]
Description=Prism nightly fleet scan (golden images and their clones)
Documentation=file://$(cd "$(dirname "$0")/.." && pwd)/README.md
After=local-fs.target

[Service]
Type=oneshot
Environment=PRISM_CATALOG=$catalog
ExecStartPre=/bin/mkdir -p $reports
ExecStart=$prism scan --catalog $catalog --signatures $signatures --report-dir $reports --keep $keep --store $store --quiet
# Exit code 1 means infections were found: a result, recorded in the report, not a failed run.
SuccessExitStatus=1
Nice=10
IOSchedulingClass=idle
"
timer="[Unit]
Description=Run the Prism fleet scan every night at $at

[Timer]
OnCalendar=*-*-* $at:00
Persistent=true
RandomizedDelaySec=300

[Install]
WantedBy=timers.target
"
if [ "$dry_run" = 1 ]; then
    printf '# prism-fleet-scan.service\n%s\n# prism-fleet-scan.timer\n%s' "$service" "$timer"
    exit 0
fi
mkdir -p "$unit_dir"
printf '%s' "$service" > "$unit_dir/prism-fleet-scan.service"
printf '%s' "$timer" > "$unit_dir/prism-fleet-scan.timer"
if [ "$custom_dir" = 0 ]; then
    systemctl daemon-reload
    systemctl enable --now prism-fleet-scan.timer
    systemctl list-timers prism-fleet-scan.timer --no-pager
else
    echo "wrote $unit_dir/prism-fleet-scan.service and prism-fleet-scan.timer"
fi
