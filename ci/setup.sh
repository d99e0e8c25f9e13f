#!/usr/bin/env bash
# Installs what the checks need on a fresh machine. Idempotent; safe to run locally.
set -euo pipefail

# The machine ships one rustup toolchain; make sure its formatter and linter are present.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done

# Fetch every crate once, up front, so a registry hiccup fails here with a clear message.
cargo fetch --locked
