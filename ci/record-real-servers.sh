#!/usr/bin/env bash
# The record loop against real servers (part of ci/interop.sh): Python's imaplib (STARTTLS and
# IMAPS) against Dovecot and smtplib (submission, STARTTLS + AUTH PLAIN) against Postfix,
# through `mailrig record --generalize`; each file must pass `mailrig check` and then pass
# again with `mailrig run` against the same server, and hold no password.
#
# Usage: bash ci/record-real-servers.sh ENV_FILE OUT_DIR
#   ENV_FILE  what `ci/real-servers.sh start DIR` wrote (DIR/env)
#   OUT_DIR   where the recordings and logs go (kept as CI artifacts)
# MAILRIG names the binary (default: target/release/mailrig, built here).
set -euo pipefail

env_file=$1
out=$2
# shellcheck source=/dev/null
source "$env_file"
mkdir -p "$out"
if [ -z "${MAILRIG:-}" ]; then
  cargo build --release --locked -q -p mailrig
  MAILRIG="${CARGO_TARGET_DIR:-target}/release/mailrig"
fi

IMAPLIB='
import imaplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
ctx = ssl.create_default_context(cafile=sys.argv[2])
if sys.argv[3] == "tls":
    m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx)
else:
    m = imaplib.IMAP4(host, int(port))
    m.starttls(ssl_context=ctx)
m.login("alice", "secret")
box = "mailrig-record-" + sys.argv[3]
m.create(box)
m.select(box)
m.append(box, None, None, b"Subject: recorded\r\n\r\nhello through the proxy\r\n")
typ, data = m.fetch("1", "(BODY.PEEK[] UID RFC822.SIZE INTERNALDATE)")
assert b"hello through the proxy" in data[0][1], data
m.close()
m.delete(box)
m.logout()
'

SMTPLIB='
import smtplib, ssl, sys
host, port = sys.argv[1].rsplit(":", 1)
s = smtplib.SMTP(host, int(port))
s.ehlo("client.example.test")
s.starttls(context=ssl.create_default_context(cafile=sys.argv[2]))
s.ehlo("client.example.test")
s.user, s.password = "alice", "secret"
s.auth("PLAIN", s.auth_plain)
s.sendmail("alice@example.test", ["bob@example.test"], b"Subject: recorded\r\n\r\nhello\r\n")
s.quit()
'

# record NAME UPSTREAM_URL SCRIPT MODE: one client session through the proxy.
record() {
  local name=$1 upstream=$2 script=$3 mode=$4 ready="$out/$1.ready.json" pid listen ca
  rm -f "$ready"
  "$MAILRIG" record --upstream "$upstream" --ca "$CA_FILE" --generalize \
    --out "$out/$name.scenario" --ready-file "$ready" >"$out/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -f "$ready" ] && break; sleep 0.1; done
  [ -f "$ready" ] || { echo "mailrig record did not start:"; cat "$out/$name.log"; return 1; }
  listen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$ready")
  ca=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$ready")
  timeout 60 python3 -c "$script" "$listen" "$ca" "$mode"
  kill -INT "$pid"
  wait "$pid"
  "$MAILRIG" check "$out/$name.scenario"
  if grep -q secret "$out/$name.scenario"; then
    echo "$name.scenario holds the password" >&2
    return 1
  fi
  "$MAILRIG" run "$out/$name.scenario" \
    --imap "$IMAP_URL" --imaps "$IMAPS_URL" --submission "$SUBMISSION_URL" \
    --user "$USER1" --user "$USER2" --ca "$CA_FILE"
}

record dovecot-starttls "$IMAP_URL" "$IMAPLIB" starttls
record dovecot-imaps "$IMAPS_URL" "$IMAPLIB" tls
record postfix-submission "${SUBMISSION_URL/#smtp:/submission:}" "$SMTPLIB" starttls
echo "recorded against Dovecot and Postfix; every generalized recording passed again"
