#!/usr/bin/env bash
# Fuzzes mailrig's own parsers and sessions (docs/fuzzing.md): installs cargo-fuzz if missing,
# builds every target in fuzz/, seeds the corpora from scenarios/, and runs each target for
# FUZZ_SECONDS (default 20) on stable Rust (`-s none`: no sanitizer, which would need nightly).
# A crash, a failed assertion, a timeout (an input taking over 10 s) or an out-of-memory fails
# the step, after every target ran; each failure prints its reproducer (hex) and the commands
# to replay it and to minimize it.
# Usage: bash ci/fuzz.sh [TARGET...]     (default: every target)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never
CARGO_FUZZ_VERSION=0.13.2   # compiles with rustc 1.95
SECONDS_PER_TARGET=${FUZZ_SECONDS:-20}

if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz ${CARGO_FUZZ_VERSION}" ]; then
  cargo install cargo-fuzz --version "${CARGO_FUZZ_VERSION}" --locked
fi
# The fuzz crate is outside the workspace, so check.sh's rustfmt does not see it.
cargo fmt --manifest-path fuzz/Cargo.toml --check
# cargo-fuzz has no --locked: check here that fuzz/Cargo.lock is up to date instead.
cargo metadata --locked --format-version 1 --manifest-path fuzz/Cargo.toml >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
start=$SECONDS
cargo fuzz build -s none
echo "fuzz: built the targets in $((SECONDS - start))s"
bash fuzz/seed-corpus.sh

failed=()
for target in "${targets[@]}"; do
  rm -rf "fuzz/artifacts/${target}"
  echo "=== fuzz ${target} for ${SECONDS_PER_TARGET}s"
  log=$(mktemp)
  if cargo fuzz run -s none "${target}" -- -max_total_time="${SECONDS_PER_TARGET}" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 >"${log}" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units)' "${log}" || true
  else
    failed+=("${target}")
    # From the panic (or libFuzzer's own report: timeout, out of memory) on, without the
    # progress lines; then the reproducer.
    grep -v -E '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED)' "${log}" |
      awk '/panicked at|==[0-9]+== ERROR|^ALARM|out-of-memory/ { on = 1 } on' | head -n 120
    for input in "fuzz/artifacts/${target}"/*; do
      [ -f "${input}" ] || continue
      echo "--- reproducer ${input} ($(wc -c <"${input}") bytes):"
      od -A d -t x1z -v "${input}" | head -n 64
      echo "replay:   cargo fuzz run -s none ${target} ${input}"
      echo "minimize: cargo fuzz tmin -s none ${target} ${input}"
    done
  fi
  rm -f "${log}"
done
echo "fuzz: ${#targets[@]} targets in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failing targets: ${failed[*]} (docs/fuzzing.md: turning a crash into a regression test)" >&2
  exit 1
fi
