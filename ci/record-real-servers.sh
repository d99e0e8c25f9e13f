#!/usr/bin/env bash
# The record loop against real servers (part of ci/interop.sh): Python's imaplib (STARTTLS and
# IMAPS) and curl (IMAP STATUS with STARTTLS) against Dovecot, and smtplib (submission,
# STARTTLS + AUTH PLAIN) against Postfix, through `mailrig record --generalize`; each file must
# pass `mailrig check` and then pass again with `mailrig run` against the same server, and hold
# no password. Then each recording is replayed (`mailrig replay`) to the client that made it,
# which must get the same outcome, and two recordings with one server line changed must change
# the client's outcome (the replay reporting the divergence).
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
# curl over IMAP with STARTTLS required: STATUS of INBOX (argv: host:port, CA file, mode).
CURL='
import subprocess, sys
subprocess.run(["curl", "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", sys.argv[2],
                "-u", "alice:secret", "imap://" + sys.argv[1] + "/INBOX",
                "-X", "STATUS INBOX (MESSAGES UIDNEXT)"], check=True)
'

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

# Replays FILE with `mailrig replay` and runs the client SCRIPT (mode MODE) against its PROTO
# listener. Returns the client's exit status; the replay's verdict must agree with it (0 when
# the client followed the script, 1 when it did not).
replay() {
  local file=$1 proto=$2 script=$3 mode=$4 ready="$out/replay.ready.json" pid addr ca client=0 verdict=0
  rm -f "$ready"
  "$MAILRIG" replay "$file" --ready-file "$ready" --timeout 10s >"$out/replay.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -f "$ready" ] && break; sleep 0.1; done
  [ -f "$ready" ] || { echo "mailrig replay did not start:"; cat "$out/replay.log"; return 2; }
  addr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$ready" "$proto")
  ca=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"])' "$ready")
  timeout 60 python3 -c "$script" "$addr" "$ca" "$mode" >"$out/client.log" 2>&1 || client=$?
  wait "$pid" || verdict=$?
  if [ $((client != 0)) != "$verdict" ]; then
    echo "$file: the client exited $client but the replay said $verdict:"
    cat "$out/client.log" "$out/replay.log"
    return 2
  fi
  return "$client"
}

# The same client against the replay of its own recording: the same outcome, and the replay
# says the client followed the script.
same_outcome() {
  replay "$@" || { echo "$1: the client did not get the same outcome from the replay:"; cat "$out/client.log" "$out/replay.log"; return 1; }
}

# One server line changed (the last occurrence of FROM, i.e. in the server's answer): the
# client's behaviour changes, and the replay reports where it diverged.
changed_outcome() {
  local file=$1 from=$2 to=$3 changed="${1%.scenario}-changed.scenario" rc=0
  python3 -c 'import sys; p, a, b, o = sys.argv[1:5]; t = open(p).read(); i = t.rindex(a); open(o, "w").write(t[:i] + b + t[i + len(a):])' \
    "$file" "$from" "$to" "$changed"
  shift 3
  replay "$changed" "$@" || rc=$?
  if [ "$rc" != 1 ]; then
    echo "$changed: changing a server line did not change the client's outcome (rc $rc):"
    cat "$out/client.log" "$out/replay.log"
    return 1
  fi
}

record dovecot-starttls "$IMAP_URL" "$IMAPLIB" starttls
record dovecot-imaps "$IMAPS_URL" "$IMAPLIB" tls
record postfix-submission "${SUBMISSION_URL/#smtp:/submission:}" "$SMTPLIB" starttls
record dovecot-curl "$IMAP_URL" "$CURL" starttls
echo "recorded against Dovecot and Postfix; every generalized recording passed again"

same_outcome "$out/dovecot-starttls.scenario" imap "$IMAPLIB" starttls
same_outcome "$out/dovecot-imaps.scenario" imaps "$IMAPLIB" tls
same_outcome "$out/postfix-submission.scenario" submission "$SMTPLIB" starttls
same_outcome "$out/dovecot-curl.scenario" imap "$CURL" starttls
echo "each recording replayed to its client: the same outcome"

changed_outcome "$out/dovecot-imaps.scenario" "hello through the proxy" "hello from a changed server" imaps "$IMAPLIB" tls
changed_outcome "$out/postfix-submission.scenario" "250 2.0.0 Ok: queued" "554 5.7.1 Refused by a changed server" submission "$SMTPLIB" starttls
echo "a changed server line changes the client's outcome"
