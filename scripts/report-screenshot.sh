#!/usr/bin/env bash
# Renders the HTML report of a plan against the emulator (scripts/emulator-demo.toml, one
# region answering AccessDenied to show a failed cell) in headless Chromium, to a PNG.
#   ./scripts/report-screenshot.sh [out.png]      (default docs/report-example.png)
# Installs Debian's chromium if it is missing (needs root and the Debian mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report-example.png}"
if ! command -v chromium >/dev/null; then
  apt-get install -y --no-install-recommends chromium >/dev/null
fi
./scripts/install-emulator.sh
cargo build --quiet --bin baseline

log=$(mktemp)
html=$(mktemp --suffix=.html)
.venv-emulator/bin/python scripts/emulator.py --port 0 >"$log" 2>/dev/null &
emulator=$!
trap 'kill $emulator 2>/dev/null; rm -f "$log" "$html"' EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
port=$(awk '/listening on/ {print $3}' "$log")
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

# Half the settings already in place, and Inspector refused in one region.
target/debug/baseline apply --auto-approve --quiet --baseline baselines/minimal.toml \
  --region us-east-1 >/dev/null || true
curl -s -X POST "http://127.0.0.1:$port/_baseline/faults" \
  -d '[{"region": "eu-west-1", "service": "inspector2", "code": "AccessDeniedException", "status": 403}]' >/dev/null
target/debug/baseline plan --quiet --max-attempts 1 --output html --baseline scripts/emulator-demo.toml >"$html" || true

chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,1400 \
  --screenshot="$out" "file://$html" 2>/dev/null
echo "wrote $out"
