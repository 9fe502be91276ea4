#!/usr/bin/env bash
# The one test command (README "Set-up"): every crate's unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the end-to-end tests use (the tests start and stop any daemons themselves):
#   chromium: crates/cli/tests/report.rs screenshots the HTML report.
#   postgresql: crates/service/tests/postgres.rs starts a throwaway PostgreSQL 15 (initdb + pg_ctl) per test.
#   slurm-wlm slurmctld slurmd slurm-client munge mariadb-server slurmdbd: crates/service/tests/slurm.rs
#     brings up two localhost Slurm clusters with accounting (scripts/slurm-localhost.sh).
# Installed here when missing and we can (root with apt-get), so this stays the one test command
# on a fresh machine.
PACKAGES=(chromium postgresql slurm-wlm slurmctld slurmd slurm-client munge mariadb-server slurmdbd)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing ${missing[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        echo "error: the tests need these Debian packages: ${missing[*]}" >&2
        echo "       sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "error: ${CHROMIUM:-/usr/bin/chromium} not found; the report test needs headless Chromium (set CHROMIUM=/path/to/chromium)" >&2
    exit 1
fi
cargo test --workspace --locked "$@"
