#!/usr/bin/env bash
# The interop step: everything that needs programs beyond the Rust toolchain, curl and python3.
# Run it as root on Debian or Ubuntu (`bash ci/interop.sh`); `.ci/run` runs it after
# ci/check.sh. It
#   1. installs the real clients (swaks, msmtp, mbsync) and servers (Dovecot, Postfix) from
#      Debian packages, without letting the packages start any system daemon;
#   2. runs the tests that need those clients (`--features interop` on mailrig-tests);
#   3. starts Dovecot and Postfix on 127.0.0.1 (ci/real-servers.sh), checks them with curl,
#      runs the shipped suite against them, and records Python's imaplib and smtplib against
#      them (and curl) through `mailrig record --generalize`, runs the recordings again, replays
#      each to its client, and checks that a changed server line changes the client's outcome
#      (ci/record-real-servers.sh).
# A missing program fails the step; nothing here is skipped silently.
# Artifacts (server logs, JUnit report) land in $MAILRIG_INTEROP_OUT (default target/interop).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never

OUT=${MAILRIG_INTEROP_OUT:-$PWD/target/interop}
CLIENT_PACKAGES=(swaks libnet-ssleay-perl libauthen-sasl-perl msmtp isync)
SERVER_PACKAGES=(dovecot-imapd dovecot-lmtpd postfix openssl ca-certificates curl)

step() {
  echo
  echo "=== $1"
  local start=$SECONDS
  shift
  "$@"
  echo "--- ok in $((SECONDS - start))s"
}

install_packages() {
  local missing=() package
  for package in "${CLIENT_PACKAGES[@]}" "${SERVER_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  # The packages would start Dovecot and Postfix with the system config, listening on every
  # address: a policy-rc.d that exits 101 forbids it (removed after if this script made it).
  local made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=yes
  fi
  # Postfix asks what kind of mail server this is: none; ci/real-servers.sh writes its own.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  local status=0
  { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } || status=$?
  # Removed whether or not the install worked, so a failed run leaves the machine as it was.
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
  return "$status"
}

# Every program and Perl module the step uses, so a broken install fails here, by name.
require_programs() {
  local program failed=0
  for program in swaks msmtp mbsync dovecot postfix openssl curl python3; do
    command -v "$program" >/dev/null || { echo "missing after install: $program" >&2; failed=1; }
  done
  perl -MNet::SSLeay -MAuthen::SASL -e 1 || { echo "missing after install: swaks's TLS/AUTH Perl modules" >&2; failed=1; }
  return "$failed"
}

# Prints the end of every server log (on a failure).
server_logs() {
  local log
  for log in "$SERVERS"/log/*.log; do
    [ -f "$log" ] || continue
    echo "----- $log (last 60 lines)"
    tail -n 60 "$log"
  done
}

stop_servers() {
  bash ci/real-servers.sh stop "$SERVERS" || true
  # Keep the logs for CI artifacts before the private directory goes.
  if [ -d "$SERVERS/log" ]; then
    mkdir -p "$OUT/server-logs"
    cp "$SERVERS"/log/*.log "$OUT/server-logs/" 2>/dev/null || true
  fi
  rm -rf "$SERVERS"
}

start_servers() {
  bash ci/real-servers.sh start "$SERVERS"
  # shellcheck source=/dev/null
  source "$SERVERS/env"
}

# Sends one message over SMTP and one over submission (STARTTLS + AUTH), then waits for both in
# alice's INBOX and reads them back over IMAP with STARTTLS and over IMAPS, trusting CA_FILE:
# the whole path the suite relies on (Postfix -> LMTP -> Dovecot, TLS, SASL through Dovecot).
smoke_check() {
  local token
  token="smoke-$(date +%s)-$$"
  send "$SMTP_URL" "$token-smtp" --mail-from bob@example.test
  send "$SUBMISSION_URL" "$token-submission" --ssl-reqd --cacert "$CA_FILE" -u bob:secret --mail-from bob@example.test
  fetch_when_delivered "$IMAP_URL" "$token-smtp" --ssl-reqd
  fetch_when_delivered "$IMAPS_URL" "$token-submission"
}

# send URL SUBJECT CURL_ARGS...: one message to alice@example.test.
send() {
  local url=$1 subject=$2 message="$OUT/$2.eml"
  shift 2
  printf 'From: bob@example.test\r\nTo: alice@example.test\r\nSubject: %s\r\nMessage-ID: <%s@example.test>\r\n\r\ninterop smoke check\r\n' \
    "$subject" "$subject" >"$message"
  curl -sS --max-time 20 --url "$url" "$@" --mail-rcpt alice@example.test --upload-file "$message" ||
    smoke_failed "sending $subject to $url failed"
}

# fetch_when_delivered URL SUBJECT CURL_ARGS...: waits (at most 30 s) until alice's INBOX holds
# the message with SUBJECT, then fetches it and checks that it is the one sent.
fetch_when_delivered() {
  local url=$1 subject=$2 deadline=$((SECONDS + 30)) found="" uid=""
  shift 2
  local curl=(curl -sS --max-time 20 --cacert "$CA_FILE" -u alice:secret "$@")
  until [ -n "$uid" ]; do
    [ "$SECONDS" -lt "$deadline" ] || smoke_failed "$subject did not arrive in alice's INBOX within 30 s (last search: ${found:-nothing})"
    sleep 0.5
    found=$("${curl[@]}" --url "$url/INBOX" -X "UID SEARCH HEADER Message-ID <$subject@example.test>") ||
      smoke_failed "searching alice's INBOX at $url failed"
    uid=$(printf '%s' "$found" | tr -d '\r' | sed -n 's/^\* SEARCH \([0-9][0-9]*\).*/\1/p')
  done
  local message
  message=$("${curl[@]}" --url "$url/INBOX;UID=$uid") || smoke_failed "fetching UID $uid at $url failed"
  grep -q "^Subject: $subject" <<<"$message" || smoke_failed "UID $uid at $url is not $subject:
$message"
  echo "$subject: delivered and fetched over $url (UID $uid)"
}

smoke_failed() {
  echo "smoke check of the real servers failed: $1" >&2
  server_logs >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# run_suite_against_real_servers: plays every shipped scenario against Dovecot + Postfix with
# `mailrig run`. A failure must be listed, with its RFC-cited reason, in
# ledgers/dovecot-postfix.toml, and a listed scenario that passes fails the run (the ledger
# stays true). One scenario at a time: the flows share alice's INBOX.
# ---------------------------------------------------------------------------------------------
run_suite_against_real_servers() {
  cargo run --release --locked -q -p mailrig -- run scenarios/ \
    --smtp "$SMTP_URL" --submission "$SUBMISSION_URL" --smtps "$SMTPS_URL" --imap "$IMAP_URL" --imaps "$IMAPS_URL" \
    --user "$USER1" --user "$USER2" \
    --ca "$CA_FILE" --ledger ledgers/dovecot-postfix.toml \
    --junit "$OUT/junit.xml" --json "$OUT/report.json" --artifacts "$OUT/artifacts"
}

if [ "$(id -u)" -ne 0 ]; then
  echo "ci/interop.sh installs packages and starts mail servers: run it as root" >&2
  exit 2
fi
started=$SECONDS
rm -rf "$OUT"
mkdir -p "$OUT"
step "install real clients and servers (Debian packages)" install_packages
step "every client and server is installed" require_programs
step "tests with real clients (mailrig-tests --features interop)" \
  cargo test -p mailrig-tests --features interop --locked
# Short: Dovecot's Unix sockets live under it.
SERVERS=$(mktemp -d /tmp/mri.XXXXXX)
trap stop_servers EXIT
step "start Dovecot and Postfix on 127.0.0.1" start_servers
step "smoke check: SMTP and submission to IMAP and IMAPS, with curl" smoke_check
step "shipped suite against Dovecot + Postfix" run_suite_against_real_servers
step "mailrig record against Dovecot + Postfix: generalized, run again, replayed to the client" \
  bash ci/record-real-servers.sh "$SERVERS/env" "$OUT/record"
echo
echo "interop step passed in $((SECONDS - started))s"
