#!/usr/bin/env bash
# Every gate CI enforces that needs only the Rust toolchain, curl and python3, in order of cost
# (`.ci/run` then runs ci/fuzz.sh and ci/interop.sh). Run it locally before pushing:
# `bash ci/check.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never

step() {
  echo
  echo "=== $1"
  local start=$SECONDS
  shift
  "$@"
  echo "--- ok in $((SECONDS - start))s"
}

no_io_in_protocol_crates() {
  # Invariant (ARCHITECTURE.md): protocol crates never do network I/O or depend on a runtime.
  local crate
  for crate in mailrig-transcript mailrig-smtp mailrig-imap mailrig-store mailrig-fault; do
    if cargo tree --locked -p "$crate" -e normal --prefix none | grep -Eq '^(tokio|mio|socket2|async-std) '; then
      echo "$crate depends on an I/O runtime:" >&2
      cargo tree --locked -p "$crate" -e normal -i tokio >&2 || true
      return 1
    fi
  done
}

step "rustfmt" cargo fmt --all --check
step "protocol crates do no I/O" no_io_in_protocol_crates
# --all-features: the tests behind mailrig-tests' `interop` feature (run by ci/interop.sh, which
# installs their clients) are linted here too, so they cannot rot unnoticed.
step "clippy" cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
# The README's test command, with --locked. Its output is kept to print a total at the end.
tests() {
  cargo test --workspace --locked 2>&1 | tee "${TEST_LOG}"
  return "${PIPESTATUS[0]}"
}
TEST_LOG=$(mktemp)
trap 'rm -f "${TEST_LOG}"' EXIT
step "tests" tests
# The kill table the test run just checked (every deliberate defect of the model servers
# against every shipped scenario, docs/defects.md), shown without running it again.
step "kill table" cat "${CARGO_TARGET_DIR:-target}/tmp/kill-table.txt"
step "rustdoc" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# Every shipped scenario is valid and canonical.
step "shipped scenarios" cargo run --locked -q -p mailrig -- check --quiet scenarios/
step "shipped scenarios are formatted" cargo run --locked -q -p mailrig -- fmt --check scenarios/
# The README's main-job command (release build, as a newcomer runs it): the shipped suite
# against mailrig's own servers over real sockets.
step "main job: mailrig run" cargo run --locked --release -q -p mailrig -- run --quiet -j 2

# One closing line for the whole run: the sum of every `test result:` line above.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "${TEST_LOG}"
