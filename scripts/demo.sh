#!/usr/bin/env bash
# The demo: starts the AWS emulator on loopback, runs plan, apply and plan again against
# it with scripts/emulator-demo.toml (every setting the emulator serves), and stops the
# emulator. No AWS account needed. A baseline file may be given as the first argument.
set -euo pipefail
cd "$(dirname "$0")/.."
BASELINE_FILE="${1:-scripts/emulator-demo.toml}"
./scripts/install-emulator.sh
cargo build --quiet --bin baseline

log=$(mktemp)
.venv-emulator/bin/python scripts/emulator.py --port 0 >"$log" 2>/dev/null &
emulator=$!
trap 'kill $emulator 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
port=$(awk '/listening on/ {print $3}' "$log")

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
bin=target/debug/baseline

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
step baseline plan --baseline "$BASELINE_FILE"
"$bin" plan --baseline "$BASELINE_FILE" || true
step baseline apply --baseline "$BASELINE_FILE" --auto-approve
"$bin" apply --baseline "$BASELINE_FILE" --auto-approve
step baseline plan --baseline "$BASELINE_FILE" --detailed-exitcode
"$bin" plan --baseline "$BASELINE_FILE" --detailed-exitcode
echo "(exit code $?: the account matches the baseline)"
