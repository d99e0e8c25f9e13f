#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora from the shipped scenarios into fuzz/corpus/TARGET/
# (not committed: regenerated from scenarios/ whenever they change). Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
cargo run --locked -q --example seed-corpus -- ../scenarios corpus
