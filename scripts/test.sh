#!/usr/bin/env bash
# The one test command (README "Set-up"): every crate's unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
