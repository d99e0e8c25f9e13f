#!/usr/bin/env bash
# Starts real mail servers from Debian packages on 127.0.0.1, each with a private configuration
# in DIR (nothing of /etc/dovecot or /etc/postfix is used), for the interop step
# (ci/interop.sh) and for running mailrig against them by hand. Needs root and the packages
# dovecot-imapd, dovecot-lmtpd, postfix and openssl (ci/interop.sh installs them).
#
#   ci/real-servers.sh start DIR   # writes DIR/env: shell variables with URLs, CA file, users
#   ci/real-servers.sh stop DIR    # stops both; safe to repeat, and after a failed start
#
# - Dovecot: IMAP (plaintext + STARTTLS), IMAPS, LMTP, and an auth listener for Postfix's SASL;
#   the quota and zlib plugins, so QUOTA and COMPRESS=DEFLATE are offered (a 1 GiB quota).
# - Postfix: SMTP (STARTTLS offered, no AUTH), submission (STARTTLS required, AUTH PLAIN and
#   LOGIN through Dovecot) and submissions (implicit TLS, RFC 8314, the same AUTH); mail for example.test goes to Dovecot over LMTP, nothing else
#   leaves the host.
# - Users alice@example.test and bob@example.test, password `secret`; postmaster@example.test
#   is an alias of alice (Postfix's VIRTUAL_README: a virtual domain needs its postmaster,
#   RFC 5321 §4.5.1), as on mailrig's own servers, where postmaster goes to the first user.
# - Free ports picked at start; a CA and a server certificate for DNS:localhost and
#   IP:127.0.0.1 made with openssl; logs in DIR/log/.
#
# DIR must be short (Dovecot's Unix socket paths under it stay under ~107 bytes); it is wiped.
#
# Postfix keeps Debian's defaults for how it reads SMTP on purpose: `smtpd_forbid_bare_newline`
# in particular is left unset (Postfix 3.7's default, `no`), so the suite sees what a stock
# Debian 12 server does, including its answer to commands smuggled after a bare-LF end of data.
set -euo pipefail

usage="usage: $0 start DIR | stop DIR"
command=${1:?$usage}
dir=${2:?$usage}

stop() {
  if [ -f "$dir/postfix/etc/main.cf" ]; then
    postfix -c "$dir/postfix/etc" stop </dev/null >>"$dir/log/postfix-start.log" 2>&1 || true
  fi
  stop_pid "$dir/postfix/spool/pid/master.pid"
  stop_pid "$dir/run/master.pid"
}

# Sends SIGTERM to the process whose PID is in file $1 (if any) and waits up to 10 s for it.
stop_pid() {
  local pid
  [ -f "$1" ] || return 0
  pid=$(tr -dc 0-9 <"$1")
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "process $pid (from $1) did not stop within 10 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

# Prints $1 TCP ports on 127.0.0.1 that are free now, below Linux's ephemeral range (so no
# outgoing connection takes one before the servers bind it).
free_ports() {
  python3 - "$1" <<'EOF'
import random, socket, sys
ports = []
while len(ports) < int(sys.argv[1]):
    port = random.randrange(20000, 32000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    if port not in ports:
        ports.append(port)
print(*ports)
EOF
}

# A CA, and a server certificate it signed for DNS:localhost and IP:127.0.0.1. A CA rather than
# one self-signed certificate: rustls (webpki) refuses a CA certificate as the server's own,
# and a non-CA certificate as a trust anchor is not accepted everywhere either.
make_certificates() {
  local tls=$dir/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=mailrig interop CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 30 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  chmod 0600 "$tls"/*.key
}

write_dovecot_conf() {
  printf '%s:{PLAIN}secret\n' alice bob >"$dir/users"
  # Dovecot's auth process runs as user dovecot.
  chown root:dovecot "$dir/users"
  chmod 0640 "$dir/users"
  local dh=""
  [ -f /usr/share/dovecot/dh.pem ] && dh="ssl_dh = </usr/share/dovecot/dh.pem"
  cat >"$dir/dovecot.conf" <<EOF
# Written by ci/real-servers.sh: loopback only, nothing of the system config.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/log/dovecot.log
listen = 127.0.0.1
protocols = imap lmtp
hostname = imap.example.test
postmaster_address = postmaster@example.test
ssl = yes
ssl_cert = <$dir/tls/server.pem
ssl_key = <$dir/tls/server.key
$dh
disable_plaintext_auth = no
auth_mechanisms = plain login
# A failed login is answered at once (the default waits 2 s): the fastest reasonable
# configuration for a test run, and what mailrig's own servers do.
auth_failure_delay = 0
auth_username_format = %Ln
auth_verbose = yes
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$dir/mail/%n
}
mail_location = maildir:~/Maildir
# QUOTA (RFC 9208) and COMPRESS=DEFLATE (RFC 4978) come from plugins; without them Dovecot does
# not offer those extensions and their scenarios would be skipped. The limit is far above what
# any scenario stores, so the scenarios that do not test quotas are not affected.
mail_plugins = \$mail_plugins quota zlib
protocol imap {
  mail_plugins = \$mail_plugins imap_quota imap_zlib
}
plugin {
  quota = count:User quota
  quota_rule = *:storage=1G
  quota_vsizes = yes
}
first_valid_uid = 1
first_valid_gid = 1
# The default (10 per user and IP) is too few for scenarios run in parallel.
mail_max_userip_connections = 200
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps_port
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
}
service auth {
  # Postfix asks here for SASL (smtpd_sasl_type = dovecot).
  inet_listener postfix {
    address = 127.0.0.1
    port = $auth_port
  }
}
service anvil {
  # No auth penalty: one failed login would delay every later one from 127.0.0.1 by seconds.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

write_postfix_conf() {
  local etc=$dir/postfix/etc
  mkdir -p "$etc" "$dir/postfix/spool" "$dir/postfix/data"
  chown postfix "$dir/postfix/data"
  printf '%s OK\n' alice@example.test bob@example.test >"$etc/vmailbox"
  printf 'postmaster@example.test alice@example.test\n' >"$etc/virtual"
  cat >"$etc/main.cf" <<EOF
# Written by ci/real-servers.sh: loopback only, nothing of the system config.
# Everything not set here is Postfix's (Debian 12's) default; see the top of ci/real-servers.sh.
compatibility_level = 3.6
queue_directory = $dir/postfix/spool
data_directory = $dir/postfix/data
maillog_file = $dir/log/postfix.log
maillog_file_prefixes = $dir/log
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:$etc/vmailbox
virtual_alias_maps = texthash:$etc/virtual
virtual_transport = lmtp:inet:127.0.0.1:$lmtp_port
default_transport = error:this test server delivers only to example.test
relay_transport = error:this test server delivers only to example.test
local_transport = error:this test server delivers only to example.test
smtp_dns_support_level = disabled
smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/tls/server.pem
smtpd_tls_key_file = $dir/tls/server.key
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$auth_port
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = reject_unlisted_recipient
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
EOF
  # Every service runs outside a chroot (chroot = n): the queue is in DIR, not /var/spool.
  cat >"$etc/master.cf" <<EOF
# Written by ci/real-servers.sh.
# service            type  private unpriv chroot wakeup maxproc command
127.0.0.1:$smtp_port inet  n       -      n      -      -       smtpd
127.0.0.1:$submission_port inet n  -      n      -      -       smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:$smtps_port inet n  -      n      -      -       smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup     unix  n  -  n  60    1  pickup
cleanup    unix  n  -  n  -     0  cleanup
qmgr       unix  n  -  n  300   1  qmgr
tlsmgr     unix  -  -  n  1000? 1  tlsmgr
rewrite    unix  -  -  n  -     -  trivial-rewrite
bounce     unix  -  -  n  -     0  bounce
defer      unix  -  -  n  -     0  bounce
trace      unix  -  -  n  -     0  bounce
verify     unix  -  -  n  -     1  verify
flush      unix  n  -  n  1000? 0  flush
proxymap   unix  -  -  n  -     -  proxymap
proxywrite unix  -  -  n  -     1  proxymap
smtp       unix  -  -  n  -     -  smtp
relay      unix  -  -  n  -     -  smtp
showq      unix  n  -  n  -     -  showq
error      unix  -  -  n  -     -  error
retry      unix  -  -  n  -     -  error
discard    unix  -  -  n  -     -  discard
lmtp       unix  -  -  n  -     -  lmtp
anvil      unix  -  -  n  -     1  anvil
scache     unix  -  -  n  -     1  scache
postlog    unix-dgram n - n -   1  postlogd
EOF
}

# Waits up to 30 s for every port in $@ to accept a connection.
wait_for_ports() {
  local port deadline=$((SECONDS + 30))
  for port in "$@"; do
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "nothing listens on 127.0.0.1:$port after 30 s" >&2
        return 1
      fi
      sleep 0.1
    done
  done
}

write_env() {
  cat >"$dir/env" <<EOF
# Written by ci/real-servers.sh start: source it.
SMTP_URL=smtp://127.0.0.1:$smtp_port
SUBMISSION_URL=smtp://127.0.0.1:$submission_port
SMTPS_URL=smtps://127.0.0.1:$smtps_port
IMAP_URL=imap://127.0.0.1:$imap_port
IMAPS_URL=imaps://127.0.0.1:$imaps_port
LMTP_PORT=$lmtp_port
CA_FILE=$dir/tls/ca.pem
USER1=alice:secret:alice@example.test
USER2=bob:secret:bob@example.test
DOVECOT_LOG=$dir/log/dovecot.log
POSTFIX_LOG=$dir/log/postfix.log
EOF
}

start() {
  local program
  for program in dovecot postfix openssl python3; do
    command -v "$program" >/dev/null || {
      echo "$program is not installed: run ci/interop.sh as root, which installs it" >&2
      exit 2
    }
  done
  # DIR is wiped: only if it is new, empty, or an earlier run of this script.
  if [ -e "$dir" ] && [ ! -f "$dir/dovecot.conf" ] && [ -n "$(ls -A "$dir")" ]; then
    echo "$dir exists and was not made by $0; refusing to wipe it" >&2
    exit 2
  fi
  stop
  rm -rf "$dir"
  mkdir -p "$dir/run" "$dir/state" "$dir/mail" "$dir/log"
  # The mail user (Dovecot's mail processes) and postfix must get through DIR.
  chmod 0755 "$dir"
  chown mail:mail "$dir/mail"
  read -r smtp_port submission_port imap_port imaps_port lmtp_port auth_port smtps_port < <(free_ports 7)
  make_certificates
  write_dovecot_conf
  write_postfix_conf
  # Daemons keep the caller's stdout and stderr open: detach both, or `$(...)` would hang.
  dovecot -c "$dir/dovecot.conf" </dev/null >>"$dir/log/dovecot-start.log" 2>&1
  postfix -c "$dir/postfix/etc" start </dev/null >>"$dir/log/postfix-start.log" 2>&1
  if ! wait_for_ports "$imap_port" "$imaps_port" "$lmtp_port" "$auth_port" "$smtp_port" "$submission_port" "$smtps_port"; then
    tail -n 50 "$dir"/log/*.log >&2 || true
    exit 1
  fi
  write_env
  echo "Dovecot and Postfix are up; settings in $dir/env"
}

case "$command" in
  start) start ;;
  stop) stop ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
