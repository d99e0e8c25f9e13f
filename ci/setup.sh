#!/usr/bin/env bash
# Installs what the checks need on a fresh machine. Idempotent; safe to run locally.
set -euo pipefail

# The machine ships one rustup toolchain; make sure its formatter and linter are present.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
    rustup component add "${component}"
  fi
done

# Real mail clients the end-to-end tests run as subprocesses (curl and python3 ship with the
# machine). swaks needs the two Perl modules for TLS and AUTH; Debian lists them only as
# Recommends. isync is mbsync, an IMAP <-> Maildir synchronizer.
clients=(curl swaks libnet-ssleay-perl libauthen-sasl-perl msmtp isync ca-certificates)
missing=()
for package in "${clients[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v python3 >/dev/null || { echo "python3 is required by the end-to-end tests" >&2; exit 1; }

# Fetch every crate once, up front, so a registry hiccup fails here with a clear message.
cargo fetch --locked
