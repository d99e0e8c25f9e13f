#!/usr/bin/env bash
# Paired SMTP benchmark: Postfix's `smtp-source` (a new connection per message) against a fresh
# `mailrig serve` (default settings: recording, storing, info logging to a file) and a fresh
# `smtp-sink`, alternating within each pair (odd pairs mailrig first, even pairs smtp-sink
# first). For each run: wall seconds, messages/s, and the server's CPU (utime+stime from
# /proc/PID/stat, all threads) per connection+message in microseconds. Prints every pair's
# ratios and their medians, with the load average and the commit (numbers go in
# docs/performance.md).
#
# Usage: bash ci/bench-smtp.sh [PAIRS]        (default 8)
#   BIN=path/to/mailrig   another build to measure (default: target/release/mailrig, built)
#   BIN2=path/to/mailrig  pair two mailrig builds instead of mailrig and smtp-sink
#   SOURCE_ARGS="..."     smtp-source options (default: -s 20 -m 20000 -l 5000)
#   GENERATOR=bench       load with `mailrig bench smtp --target` instead (20 persistent sessions,
#                         EHLO once each, pipelined MAIL/RCPT/DATA, 5,000-byte messages; -m sets
#                         the count)
# Needs Debian's postfix package (/usr/sbin/smtp-source, /usr/sbin/smtp-sink); not used by CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pairs=${1:-8}
read -r -a source_args <<<"${SOURCE_ARGS:--s 20 -m 20000 -l 5000}"
messages=20000
for ((i = 0; i < ${#source_args[@]}; i++)); do
  [ "${source_args[i]}" = -m ] && messages=${source_args[i + 1]}
done
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q -p mailrig
  BIN=./target/release/mailrig
fi
port=30026
tmp=$(mktemp -d /tmp/bench-smtp.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# CPU ticks (utime + stime) of PID, all threads.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench-smtp: nothing listens on port $1" >&2
  exit 1
}

# Starts the server named $1, prints its PID.
start() {
  case $1 in
    sink) /usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 </dev/null >/dev/null 2>&1 & ;;
    mailrig | mailrig2)
      local bin=$BIN
      [ "$1" = mailrig2 ] && bin=$BIN2
      "$bin" serve --smtp "127.0.0.1:$port" --submission off --smtps off --imap off --imaps off \
        --user bench:bench:bench@example.test </dev/null >"$tmp/serve.out" 2>"$tmp/serve.log" &
      ;;
  esac
  echo $!
}

# One run against server $1: prints "seconds msg/s cpu-us-per-message".
run() {
  local pid before after start_ns end_ns
  pid=$(start "$1")
  wait_port "$port"
  # The probe above was a connection too: count from here.
  sleep 0.2
  before=$(ticks "$pid")
  start_ns=$(date +%s%N)
  if [ "${GENERATOR:-}" = bench ]; then
    "$BIN" bench smtp --target "127.0.0.1:$port" --messages "$messages" --rcpt bench@example.test >/dev/null
  else
    /usr/sbin/smtp-source "${source_args[@]}" -t bench@example.test "127.0.0.1:$port"
  fi
  end_ns=$(date +%s%N)
  after=$(ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  awk -v s="$start_ns" -v e="$end_ns" -v b="$before" -v a="$after" -v m="$messages" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { t = (e - s) / 1e9; printf "%.3f %.0f %.1f\n", t, m / t, (a - b) / hz / m * 1e6 }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

ours=mailrig
peer=${BIN2:+mailrig2}
peer=${peer:-sink}
generator="smtp-source ${source_args[*]}"
[ "${GENERATOR:-}" = bench ] && generator="mailrig bench smtp --target, $messages messages"
echo "commit $(git rev-parse --short HEAD), $generator, $pairs pairs, $ours vs $peer"
printf '%-4s %-6s %-24s %-24s %-10s %-10s\n' pair load "$ours s msg/s cpu-us" "$peer s msg/s cpu-us" rate-ratio cpu-ratio
rates=() cpus=()
for p in $(seq "$pairs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  if ((p % 2)); then a=$(run "$ours"); b=$(run "$peer"); else b=$(run "$peer"); a=$(run "$ours"); fi
  read -r _ ar ac <<<"$a"
  read -r _ br bc <<<"$b"
  rate=$(awk -v x="$ar" -v y="$br" 'BEGIN { printf "%.2f", x / y }')
  cpu=$(awk -v x="$ac" -v y="$bc" 'BEGIN { printf "%.2f", x / y }')
  rates+=("$rate") cpus+=("$cpu")
  printf '%-4s %-6s %-24s %-24s %-10s %-10s\n' "$p" "$load" "$a" "$b" "$rate" "$cpu"
done
echo "median $ours/$peer: messages/s $(printf '%s\n' "${rates[@]}" | median)×, server CPU per message $(printf '%s\n' "${cpus[@]}" | median)× (load $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
