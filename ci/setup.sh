#!/usr/bin/env bash
# Installs what the checks need on a fresh machine. Idempotent; safe to run locally.
set -euo pipefail

# The machine ships one rustup toolchain; make sure its formatter and linter are present.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done

# `cargo test --workspace` runs real clients too, but only curl and Python 3 (smtplib,
# imaplib), which a fresh machine is expected to have; curl is installed here if it is missing.
# Everything else (swaks, msmtp, mbsync, Dovecot, Postfix) belongs to ci/interop.sh.
if ! command -v curl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends curl ca-certificates
fi
command -v python3 >/dev/null || { echo "python3 is required by the end-to-end tests" >&2; exit 1; }

# Fetch every crate once, up front, so a registry hiccup fails here with a clear message.
cargo fetch --locked
