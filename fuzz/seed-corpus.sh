#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora from the shipped scenarios into fuzz/corpus/TARGET/
# (not committed: regenerated from scenarios/ whenever they change). Idempotent.
# The helper is an ordinary (uninstrumented) build, so it shares the workspace's target/: after
# `cargo test` its dependencies are already built there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-../target} cargo run --locked -q --example seed-corpus -- ../scenarios corpus
