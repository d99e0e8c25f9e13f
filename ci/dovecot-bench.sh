#!/usr/bin/env bash
# Starts Dovecot (Debian's dovecot-imapd) on 127.0.0.1 with a private config, for comparing it
# with mailrig under `mailrig bench imap` (docs/performance.md). Not used by CI.
#
#   ci/dovecot-bench.sh start DIR PORT [IMAP_CLIENT_LIMIT]   # prints the master PID
#   ci/dovecot-bench.sh stop DIR
#
# DIR must be short (Unix socket paths under DIR/run stay under ~107 bytes) and is wiped.
# IMAP_CLIENT_LIMIT is how many connections one imap process serves: 1 (the default, and
# Dovecot's recommended mode: a process per connection) or more (fewer processes, less memory).
# Users `bench` and `bench1`..`bench64` (for --users), password `bench`; mail in DIR/mail (put DIR on tmpfs to keep disks out of it).
# MAIL_FORMAT (default sdbox) is Dovecot's mailbox format: sdbox (its own single-file-per-message
# format with indexes, the fastest here for this bench's mix; docs/performance.md), mdbox or maildir.
set -euo pipefail

command=${1:?usage: $0 start DIR PORT [IMAP_CLIENT_LIMIT] | stop DIR}
dir=${2:?DIR}

if [ "$command" = stop ]; then
  if [ -f "$dir/run/master.pid" ]; then
    pid=$(cat "$dir/run/master.pid")
    kill "$pid" 2>/dev/null || true
    # Wait (up to 10 s) until it is gone, so a start right after does not meet its port.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  exit 0
fi
port=${3:?PORT}
client_limit=${4:-1}
mail_format=${MAIL_FORMAT:-sdbox}
case $mail_format in
  sdbox | mdbox | maildir) ;;
  *) echo "MAIL_FORMAT=$mail_format: expected sdbox, mdbox or maildir" >&2; exit 2 ;;
esac
command -v dovecot >/dev/null || {
  echo "dovecot is not installed: apt-get install dovecot-imapd (with a policy-rc.d that" \
       "exits 101, so the system daemon does not start)" >&2
  exit 2
}

# DIR is wiped: only if it is new, empty, or an earlier run of this script.
if [ -e "$dir" ] && [ ! -f "$dir/dovecot.conf" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "$dir exists and was not made by $0; refusing to wipe it" >&2
  exit 2
fi
rm -rf "$dir"
mkdir -p "$dir/run" "$dir/state" "$dir/mail"
chown mail:mail "$dir/mail"
{ printf 'bench:{PLAIN}bench\n'; for n in $(seq 64); do printf 'bench%d:{PLAIN}bench\n' "$n"; done; } > "$dir/users"
chown root:dovecot "$dir/users"
chmod 0640 "$dir/users"
# With one process per connection, the imap service needs a process per idle connection.
# With more, a process must outlive its first client (service_count = 0).
if [ "$client_limit" -gt 1 ]; then imap_processes=64 service_count=0; else imap_processes=12000 service_count=1; fi

cat > "$dir/dovecot.conf" <<EOF
# Written by ci/dovecot-bench.sh: loopback only, nothing of the system config.
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
auth_cache_size = 10M
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = static
  args = uid=mail gid=mail home=$dir/mail/%n
}
mail_location = $mail_format:~/mail
mail_fsync = never
mail_max_userip_connections = 20000
first_valid_uid = 1
first_valid_gid = 1
default_client_limit = 20000
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
  # High-performance mode: a few long-lived login processes serve every login.
  service_count = 0
  process_min_avail = 2
  process_limit = 4
  client_limit = 2000
}
service imap {
  client_limit = $client_limit
  service_count = $service_count
  # The default 256 MB address-space limit is too small for 1,000 clients in one process.
  vsz_limit = 4G
  process_limit = $imap_processes
}
service anvil {
  # No auth penalty: a failed login would delay every later one from 127.0.0.1.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF

dovecot -c "$dir/dovecot.conf" </dev/null >>"$dir/dovecot.log" 2>&1
for _ in $(seq 50); do
  [ -s "$dir/run/master.pid" ] && break
  sleep 0.1
done
cat "$dir/run/master.pid"
