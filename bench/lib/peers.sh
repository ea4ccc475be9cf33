# bench/lib/peers.sh: what bench/submit/run and bench/relay/run share, sourced
# by both. Private peers on 127.0.0.1 under one temp dir ($tmp), each stopped
# by bench_cleanup (installed as the EXIT trap by bench_init): PostgreSQL
# (scripts/pg.sh; fsync and synchronous_commit checked on), smtp-sink,
# mailgate (`serve`, config from write_mailgate_config) and a Postfix
# instance (postfix -c DIR, own queue, own listener). Every wait is bounded.
# The caller sets `repo`, `bin` and `bench` (its name, for messages) first.

PY=/usr/bin/python3
PSQL=/usr/lib/postgresql/15/bin/psql
SIZE=${SIZE:-5120}
HASH='$6$saltsaltsalt$PMWE8DTlam1JU37Piyk43bHcMxTJq6sgu5DKB0/tGPjanN35jcY68QkpDfPFUGPWX5uCxIQkSPzMmqEiVNgts.'  # "secret"
PASSWORD=secret

log() { echo "# $*" >&2; }
die() { echo "$bench: $*" >&2; exit 1; }
now() { date +%s.%N; }
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  local deadline=$((SECONDS + 30))
  until $PY -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),timeout=0.5)" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || die "nothing listening on 127.0.0.1:$1"
    sleep 0.1
  done
}
# Polls "$@" (a command printing a number) until it prints $1-wanted, for at most $2 seconds.
wait_count() {
  local want=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit)) got
  while got=$("$@"); [ "$got" != "$want" ]; do
    [ $SECONDS -lt $deadline ] || { log "still $got, wanted $want, after ${limit}s"; return 1; }
    sleep 0.2
  done
}

# Checks the tools, root and the binary; makes $tmp and installs the cleanup.
bench_init() {
  for tool in smtp-source smtp-sink postfix postconf postqueue; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install postfix)"
  done
  [ -x "$bin" ] || die "no $bin (make release)"
  [ "$(id -u)" -eq 0 ] || die "run as root (private Postfix and smtp-sink need it)"
  tmp=$(mktemp -d /tmp/mailgate-bench.XXXXXX)
  chmod 755 "$tmp"   # postgres and postfix users must reach their directories
  mailgate_pid=""
  sink_pid=""
  postfix_dir="$tmp/postfix"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

bench_cleanup() {
  set +e
  [ -n "$mailgate_pid" ] && kill -TERM "$mailgate_pid" 2>/dev/null && timeout 20 tail --pid="$mailgate_pid" -f /dev/null
  [ -n "$mailgate_pid" ] && kill -KILL "$mailgate_pid" 2>/dev/null
  [ -f "$postfix_dir/queue/pid/master.pid" ] && postfix -c "$postfix_dir/etc" stop >/dev/null 2>&1
  [ -n "$sink_pid" ] && kill -TERM "$sink_pid" 2>/dev/null
  bash "$repo/scripts/pg.sh" stop "$tmp/pg" >/dev/null 2>&1
  rm -rf "$tmp"
}

# PostgreSQL in $tmp/pg; sets db_url and durability, defines sql().
start_postgres() {
  log "starting PostgreSQL"
  db_url=$(bash "$repo/scripts/pg.sh" start "$tmp/pg")
  durability=$(sql "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')")
  [ "$durability" = "on/on" ] || die "PostgreSQL fsync/synchronous_commit is $durability, wanted on/on"
}
sql() { $PSQL "$db_url" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# smtp-sink on a free port (sink_port), its running counters (-c) in $tmp/sink.counters.
start_sink() {
  sink_port=$(free_port)
  smtp-sink -u postfix -c "127.0.0.1:$sink_port" 256 >"$tmp/sink.counters" 2>/dev/null &
  sink_pid=$!
  wait_port "$sink_port"
}
# Messages the sink has received so far (its last "mesg=N" counter).
sink_messages() {
  local last
  last=$(tail -c 200 "$tmp/sink.counters" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' | tail -1)
  echo "${last#mesg=}" | sed 's/^$/0/'
}

# mailgate's config: submission on mg_port (trusted 127.0.0.0/8 as user bench,
# so smtp-source may submit) and mg_tls_port, one account "sink" to smtp-sink
# with 20 connections; $1 is the account's limits line ('' for none).
write_mailgate_config() {
  [ -d "$tmp/pki" ] || bash "$repo/scripts/test-ca.sh" "$tmp/pki" >/dev/null 2>&1
  mg_port=${mg_port:-$(free_port)}
  mg_tls_port=${mg_tls_port:-$(free_port)}
  mkdir -p "$tmp/mailgate"
  cat > "$tmp/mailgate/mailgate.toml" <<EOF
[server]
hostname = "mail.example.test"
drain_timeout = "5s"

[database]
pool_size = 8

[tls]
certificate = "$tmp/pki/server.crt"
private_key = "$tmp/pki/server.key"

[submission]
listen = ["127.0.0.1:$mg_port"]
listen_tls = ["127.0.0.1:$mg_tls_port"]
max_connections_per_ip = 100000
trusted_networks = ["127.0.0.0/8"]
trusted_user = "bench"

[[account]]
name = "sink"
address = "sink@example.test"
send_as = ["*@example.test"]
smtp = "smtp+plain://127.0.0.1:$sink_port"
max_connections = 20
$1

[[user]]
name = "bench"
password_hash = "$HASH"
send_as = ["*@example.test"]
accounts = ["sink"]
EOF
}
migrate_mailgate() {
  MAILGATE_DATABASE_URL=$db_url "$bin" migrate --config "$tmp/mailgate/mailgate.toml" --directory "$repo/migrations" >/dev/null
}
start_mailgate() {
  MAILGATE_DATABASE_URL=$db_url "$bin" serve --config "$tmp/mailgate/mailgate.toml" >>"$tmp/mailgate/serve.log" 2>&1 &
  mailgate_pid=$!
  wait_port "$mg_port"
}
stop_mailgate() {
  kill -TERM "$mailgate_pid"
  timeout 30 tail --pid="$mailgate_pid" -f /dev/null || kill -KILL "$mailgate_pid"
  wait "$mailgate_pid" 2>/dev/null || true
  mailgate_pid=""
}

# Postfix under $postfix_dir listening on pf_port; $1 is the relayhost line's
# value, $2 the defer_transports value ('' to deliver).
start_postfix() {
  pf_port=$(free_port)
  mkdir -p "$postfix_dir/etc" "$postfix_dir/queue" "$postfix_dir/data"
  chown postfix "$postfix_dir/data"
  cat > "$postfix_dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $postfix_dir/queue
data_directory = $postfix_dir/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $postfix_dir/maillog
maillog_file_prefixes = $postfix_dir
myhostname = postfix-bench.example.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = $1
defer_transports = $2
EOF
  # Debian's master.cf minus what is not needed, chroot off, our own listener.
  cat > "$postfix_dir/etc/master.cf" <<EOF
127.0.0.1:$pf_port inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
  postfix -c "$postfix_dir/etc" start >/dev/null 2>&1 || die "Postfix did not start (see $postfix_dir/maillog)"
  wait_port "$pf_port"
}
postfix_queued() { find "$postfix_dir/queue/incoming" "$postfix_dir/queue/active" "$postfix_dir/queue/deferred" -type f | wc -l; }
postfix_unsettled() { find "$postfix_dir/queue/incoming" "$postfix_dir/queue/active" -type f | wc -l; }

# smtp-source to 127.0.0.1:$1 with $2 sessions, $3 messages of $SIZE bytes, bounded by STEP_TIMEOUT.
source_to() {
  timeout "$STEP_TIMEOUT" smtp-source -s "$2" -m "$3" -l "$SIZE" -f bench@example.test -t rcpt@example.org "127.0.0.1:$1"
}
