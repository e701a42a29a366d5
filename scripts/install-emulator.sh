#!/usr/bin/env bash
# Installs the AWS emulator (moto server, pinned) into a virtual environment of the
# project's own: .venv-emulator/ at the repository root. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
VENV=".venv-emulator"
PYTHON="${PYTHON:-python3}"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
echo "installed moto[server]==$MOTO_VERSION into $VENV" >&2
