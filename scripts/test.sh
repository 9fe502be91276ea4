#!/usr/bin/env bash
# The one test command (README "Set-up"): every crate's unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# crates/cli/tests/report.rs screenshots HTML reports with headless Chromium (Debian `chromium`);
# installed here when missing and we can, so this stays the one test command on a fresh machine.
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "error: ${CHROMIUM:-/usr/bin/chromium} not found; the report test needs headless Chromium:" >&2
    echo "       apt-get install -y --no-install-recommends chromium   (or set CHROMIUM=/path/to/chromium)" >&2
    exit 1
fi
cargo test --workspace --locked "$@"
