#!/usr/bin/env bash
# Peak resident memory of `mailrig record` while a message of SIZE_MB megabytes (default 100)
# goes through it both ways: Python's imaplib APPENDs it through the proxy to `mailrig serve`
# and FETCHes it back. Prints the proxy's VmHWM (peak RSS) and the message size; the figure in
# docs/performance.md comes from this script. Needs a release build (`cargo build --release
# -p mailrig`) or MAILRIG=path; run from the repository root.
set -euo pipefail
SIZE_MB=${SIZE_MB:-100}
MAILRIG=${MAILRIG:-target/release/mailrig}
work=$(mktemp -d /tmp/mrbr.XXXXXX)
cleanup() {
  [ -n "${rec:-}" ] && kill "$rec" 2>/dev/null || true
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 300); do [ -f "$1" ] && return 0; sleep 0.1; done; echo "$1 never appeared" >&2; return 1; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# A literal limit above the message (the default is 32 MiB).
"$MAILRIG" serve --smtp off --submission off --smtps off --imaps off --imap 127.0.0.1:0 \
  --imap-max-literal $(( (SIZE_MB + 8) * 1024 * 1024 )) --ready-file "$work/serve.json" \
  >"$work/serve.log" 2>&1 &
srv=$!
wait_for "$work/serve.json"
"$MAILRIG" record --upstream "imap://$(json "$work/serve.json" imap)" --ca "$(json "$work/serve.json" ca)" \
  --out "$work/big.scenario" --ready-file "$work/record.json" >"$work/record.log" 2>&1 &
rec=$!
wait_for "$work/record.json"
python3 - "$(json "$work/record.json" listen)" "$(json "$work/record.json" ca)" "$SIZE_MB" <<'PY'
import imaplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
size = int(sys.argv[3]) * 1000 * 1000
line = b"x" * 998 + b"\r\n"
body = b"Subject: big\r\n\r\n" + line * (size // len(line))
m = imaplib.IMAP4(host, int(port))
m.starttls(ssl_context=ssl.create_default_context(cafile=sys.argv[2]))
m.login("alice", "secret")
m.append("INBOX", None, None, body)
m.select("INBOX")
typ, data = m.fetch("1", "(BODY.PEEK[])")
assert data[0][1] == body, "the message came back different"
m.logout()
PY
peak=$(awk '/VmHWM/ {print $2}' "/proc/$rec/status")
kill -INT "$rec"; wait "$rec" || true; rec=
echo "message: ${SIZE_MB} MB (${SIZE_MB}000000 bytes of lines), recorded both ways"
echo "mailrig record peak resident memory (VmHWM): $((peak / 1024)) MiB"
ls "$work"/big.literals/ >/dev/null 2>&1 && echo "literal files: $(ls "$work"/big.literals | wc -l), $(du -sm "$work"/big.literals | cut -f1) MB"
