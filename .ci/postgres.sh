#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store tests, from Debian's packages.
#
#   .ci/postgres.sh start DIR   initdb + pg_ctl start in DIR; prints the cluster's URL on stdout
#   .ci/postgres.sh stop DIR    stop it (DIR is left for the caller to remove)
#
# The server listens on a Unix socket in DIR and on 127.0.0.1 at a free port, never on a network.
# Authentication is "trust": the cluster lives for one run and is reachable from this machine only.
# initdb refuses to run as root, so under root (CI) the cluster belongs to the `postgres` system user.
set -euo pipefail

command=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}
db=agent_billing_test

install_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    # Refresh the package lists first: without it the install may find nothing.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

bin_dir() {
  # The newest installed major version.
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "$command" in
  start)
    install_postgres
    bin=$(bin_dir)
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
      mkdir -p "$dir"
      chown postgres "$dir"
    else
      mkdir -p "$dir"
    fi
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
    as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres "$db"
    echo "postgresql://postgres@127.0.0.1:$port/$db"
    ;;
  stop)
    bin=$(bin_dir)
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
