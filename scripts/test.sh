#!/usr/bin/env bash
# The project's test command: installs the AWS emulator (moto server, pinned) into
# .venv-emulator/ if needed, then runs every test. Nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-emulator.sh
cargo test --all-targets "$@"
