#!/usr/bin/env bash
# Paired IMAP benchmark: `mailrig bench imap` (the default mix: SELECT once per connection, then
# rounds of APPEND/FETCH/UID FETCH/UID STORE/EXPUNGE) against a fresh `mailrig serve` (default
# features, recording on, info logging to a file) and against Dovecot (`ci/dovecot-bench.sh`,
# MAIL_FORMAT default sdbox, up to 1,000 connections per imap process: its fastest setting here, mail on /dev/shm), alternating within
# each pair (odd pairs mailrig first). Prints commands/s of each run, the per-pair ratio, the
# median, the load average and the commit (numbers go in docs/performance.md).
#
# Usage: bash ci/bench-imap.sh [PAIRS] [BENCH ARGS...]     (as root, for Dovecot; default 6)
#   e.g. bash ci/bench-imap.sh 6 --users 20
#   BIN=path/to/mailrig   another build to measure (default: target/release/mailrig, built)
# Not used by CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pairs=${1:-6}
shift || true
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q -p mailrig
  BIN=./target/release/mailrig
fi
ours_port=30143 peer_port=31143
dir=/dev/shm/dvb-bench
tmp=$(mktemp -d /tmp/bench-imap.XXXXXX)
bash ci/dovecot-bench.sh start "$dir" "$peer_port" 1000 >/dev/null
trap 'bash ci/dovecot-bench.sh stop "$dir"; rm -rf "$tmp"' EXIT

users=(--user bench:bench:bench@example.test)
for n in $(seq 64); do users+=(--user "bench$n:bench:bench$n@example.test"); done

# One run; prints commands/s.
run() {
  local port=$peer_port pid="" out server=$1
  shift
  if [ "$server" = mailrig ]; then
    port=$ours_port
    "$BIN" serve --smtp off --submission off --smtps off --imaps off --imap "127.0.0.1:$port" \
      --no-tls --allow-plaintext-auth "${users[@]}" </dev/null >"$tmp/serve.out" 2>"$tmp/serve.log" &
    pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  fi
  out=$("$BIN" bench imap --target "127.0.0.1:$port" "$@")
  if [ -n "$pid" ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  sed -n 's/.* = \([0-9]*\) commands\/s.*/\1/p' <<<"$out"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "commit $(git rev-parse --short HEAD), bench imap $*, Dovecot ${MAIL_FORMAT:-sdbox}, $pairs pairs"
printf '%-4s %-6s %-10s %-10s %s\n' pair load mailrig dovecot ratio
ratios=()
for p in $(seq "$pairs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ((p % 2)); then a=$(run mailrig "$@"); b=$(run dovecot "$@"); else b=$(run dovecot "$@"); a=$(run mailrig "$@"); fi
  ratio=$(awk -v x="$a" -v y="$b" 'BEGIN { printf "%.1f", x / y }')
  ratios+=("$ratio")
  printf '%-4s %-6s %-10s %-10s %s\n' "$p" "$load" "$a" "$b" "$ratio"
done
echo "median mailrig/dovecot: $(printf '%s\n' "${ratios[@]}" | median)× (load $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
