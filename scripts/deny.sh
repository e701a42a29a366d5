#!/usr/bin/env bash
# Audits the dependency tree: duplicate and banned crates (one TLS stack), licenses,
# registries. Installs cargo-deny (pinned) into .tools/ on first use. The advisories
# check needs the RustSec database from GitHub, which CI cannot reach: run
# `cargo deny check advisories` where it can (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
DENY_VERSION=0.20.2
deny=.tools/bin/cargo-deny
if ! [ -x "$deny" ] || ! "$deny" --version | grep -q "$DENY_VERSION"; then
    cargo install --locked --quiet --root .tools cargo-deny --version "$DENY_VERSION"
fi
"$deny" --log-level error check bans licenses sources
