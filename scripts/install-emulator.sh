#!/usr/bin/env bash
# Installs what the tests need into a virtual environment of the project's own,
# .venv-emulator/ at the repository root: the AWS emulator (moto server) and the linters
# that check the deployment examples (cfn-lint, check-jsonschema with its bundled GitHub
# workflow schema), and parliament, the IAM policy linter the permissions tests run. All
# pinned. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
CHECK_JSONSCHEMA_VERSION="0.39.0"
PARLIAMENT_VERSION="1.6.4"
VENV=".venv-emulator"
PYTHON="${PYTHON:-python3}"
installed() {
  "$VENV/bin/python" - <<PY 2>/dev/null
import sys
from importlib.metadata import version
want = {"moto": "$MOTO_VERSION", "cfn-lint": "$CFN_LINT_VERSION", "check-jsonschema": "$CHECK_JSONSCHEMA_VERSION", "parliament": "$PARLIAMENT_VERSION"}
sys.exit(any(version(name) != v for name, v in want.items()))
PY
}
if [ -x "$VENV/bin/python" ] && installed; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
  "parliament==$PARLIAMENT_VERSION"
echo "installed moto[server]==$MOTO_VERSION, cfn-lint==$CFN_LINT_VERSION, check-jsonschema==$CHECK_JSONSCHEMA_VERSION, parliament==$PARLIAMENT_VERSION into $VENV" >&2
