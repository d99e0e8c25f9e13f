#!/usr/bin/env bash
# How long `mailrig run` takes over the shipped suite: against mailrig's own servers (in
# process) and, when DIR/env from `ci/real-servers.sh start DIR` is given, against Dovecot +
# Postfix; with -j 1, 2 and 4, and over a quarter, a half and all of the suite (--partition).
# Each configuration runs REPEAT times, configurations alternating; the median is printed.
# Usage: bash ci/bench-run.sh [REAL_SERVERS_DIR]   (numbers go in docs/performance.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEAT=${REPEAT:-5}
cargo build --release --locked -q -p mailrig
bin=./target/release/mailrig
real=()
if [ $# -ge 1 ]; then
  # shellcheck source=/dev/null
  source "$1/env"
  real=(--smtp "$SMTP_URL" --submission "$SUBMISSION_URL" --smtps "$SMTPS_URL" --imap "$IMAP_URL" --imaps "$IMAPS_URL"
    --user "$USER1" --user "$USER2" --ca "$CA_FILE" --ledger ledgers/dovecot-postfix.toml)
fi

# One timed run; prints seconds. A failing run fails the benchmark (its numbers would lie).
timed() {
  local start end
  start=$(date +%s%N)
  "$bin" run --quiet "$@" >/dev/null || return 1
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", (e - s) / 1e9 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

configs=(
  "own -j1 all|-j 1"
  "own -j2 all|-j 2"
  "own -j4 all|-j 4"
  "own -j1 1/4|-j 1 --partition 1/4"
  "own -j1 1/2|-j 1 --partition 1/2"
)
if [ ${#real[@]} -gt 0 ]; then
  configs+=("real -j1 all|-j 1 REAL" "real -j2 all|-j 2 REAL" "real -j1 1/2|-j 1 --partition 1/2 REAL")
fi
declare -A samples
for _ in $(seq "$REPEAT"); do
  for config in "${configs[@]}"; do
    name=${config%%|*}
    read -r -a args <<<"${config#*|}"
    if [ "${args[-1]}" = REAL ]; then
      unset 'args[-1]'
      args+=("${real[@]}")
    fi
    # `$(...)` does not pass a failure on by itself: a failing run stops the benchmark here.
    seconds=$(timed "${args[@]}") || { echo "bench-run: \`mailrig run ${args[*]}\` failed" >&2; exit 1; }
    samples[$name]+="$seconds "
  done
done
scenarios=$(find scenarios -name '*.scenario' | wc -l)
echo "$scenarios scenarios, $REPEAT runs each, median wall seconds (commit $(git rev-parse --short HEAD)):"
for config in "${configs[@]}"; do
  name=${config%%|*}
  printf '  %-14s %s\n' "$name" "$(tr ' ' '\n' <<<"${samples[$name]}" | grep . | median)"
done
