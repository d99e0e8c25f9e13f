#!/usr/bin/env bash
# Paired idle-connection memory benchmark: `mailrig bench imap --commands 0 --idle N` against a
# fresh `mailrig serve` (default features, recording on, info logging to a file) and against a
# fresh Dovecot (`ci/dovecot-bench.sh`, MAIL_FORMAT default sdbox, 1,000 connections per imap
# process: its most frugal setting, mail on /dev/shm), alternating within each pair (odd pairs
# mailrig first). Each run opens N connections, logs each in and selects INBOX, and reads the
# server's memory (its process and all descendants) before and after. Prints, per run, the
# growth of resident memory (VmRSS summed) and of proportional memory (Pss summed: Dovecot's
# processes share pages, which VmRSS counts once per process) per connection, then the medians.
# With `--messages M` (passed on to the bench) the INBOX first gets M messages, so the figures
# show what a connection costs per message it can see.
#
# Usage: bash ci/bench-imap-idle.sh [PAIRS] [IDLE] [BENCH ARGS...]   (as root, for Dovecot)
#   e.g. bash ci/bench-imap-idle.sh 3 10000 --messages 10000
#   BIN=path/to/mailrig   another build to measure (default: target/release/mailrig, built)
# Needs `ulimit -n` above IDLE + 256 (the bench raises its soft limit up to the hard one).
# Not used by CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pairs=${1:-3}
idle=${2:-10000}
shift 2 || shift $# || true
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q -p mailrig
  BIN=./target/release/mailrig
fi
ours_port=30143 peer_port=31143
dir=/dev/shm/dvb-idle
tmp=$(mktemp -d /tmp/bench-imap-idle.XXXXXX)
trap 'bash ci/dovecot-bench.sh stop "$dir"; rm -rf "$tmp"' EXIT

# One run; prints "RSS_KIB_PER_CONNECTION PSS_KIB_PER_CONNECTION".
run() {
  local server=$1 port pid out
  shift
  if [ "$server" = mailrig ]; then
    port=$ours_port
    "$BIN" serve --smtp off --submission off --smtps off --imaps off --imap "127.0.0.1:$port" \
      --no-tls --allow-plaintext-auth --max-connections 20000 \
      --user bench:bench:bench@example.test </dev/null >"$tmp/serve.out" 2>"$tmp/serve.log" &
    pid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  else
    port=$peer_port
    bash ci/dovecot-bench.sh start "$dir" "$port" 1000 >/dev/null
    pid=$(cat "$dir/run/master.pid")
  fi
  out=$("$BIN" bench imap --target "127.0.0.1:$port" --commands 0 --idle "$idle" --pid "$pid" "$@")
  if [ "$server" = mailrig ]; then
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  else
    bash ci/dovecot-bench.sh stop "$dir"   # waits for the master to be gone
  fi
  # "... = +GROWTH KiB, ... PSS BEFORE KiB -> AFTER KiB"
  sed -n 's/.*= +\([0-9]*\) KiB,.*PSS \([0-9]*\) KiB -> \([0-9]*\) KiB.*/\1 \2 \3/p' <<<"$out" |
    awk -v n="$idle" '{ printf "%.1f %.1f\n", $1 / n, ($3 - $2) / n }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "commit $(git rev-parse --short HEAD), bench imap --idle $idle $*, Dovecot ${MAIL_FORMAT:-sdbox} (1,000 per process), $pairs pairs; KiB per connection"
printf '%-4s %-6s %-12s %-12s %-12s %-12s\n' pair load mailrig-rss mailrig-pss dovecot-rss dovecot-pss
ours_rss=() ours_pss=() peer_rss=() peer_pss=()
for p in $(seq "$pairs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ((p % 2)); then a=$(run mailrig "$@"); b=$(run dovecot "$@"); else b=$(run dovecot "$@"); a=$(run mailrig "$@"); fi
  read -r ar ap <<<"$a"
  read -r br bp <<<"$b"
  ours_rss+=("$ar") ours_pss+=("$ap") peer_rss+=("$br") peer_pss+=("$bp")
  printf '%-4s %-6s %-12s %-12s %-12s %-12s\n' "$p" "$load" "$ar" "$ap" "$br" "$bp"
done
printf 'median     %-12s %-12s %-12s %-12s\n' \
  "$(printf '%s\n' "${ours_rss[@]}" | median)" "$(printf '%s\n' "${ours_pss[@]}" | median)" \
  "$(printf '%s\n' "${peer_rss[@]}" | median)" "$(printf '%s\n' "${peer_pss[@]}" | median)"
