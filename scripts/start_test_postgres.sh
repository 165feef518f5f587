#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite and print the URL tests should use.
#
#   eval "$(scripts/start_test_postgres.sh)"   # exports ARCHIVE_TEST_POSTGRES_URL
#
# Installs Debian's postgresql package when no server binaries are present. The cluster lives in
# $ARCHIVE_PG_DIR (default /tmp/archive-test-pg), listens on 127.0.0.1:$ARCHIVE_PG_PORT (default
# 55432) with trust authentication, and runs with fsync off: it holds nothing worth keeping.
set -euo pipefail

data_dir=${ARCHIVE_PG_DIR:-/tmp/archive-test-pg}
port=${ARCHIVE_PG_PORT:-55432}

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
fi

# The server refuses to run as root; run it as the postgres user the package creates.
as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

if [ ! -f "$data_dir/PG_VERSION" ]; then
    mkdir -p "$data_dir"
    [ "$(id -u)" = 0 ] && chown postgres "$data_dir"
    as_server_user "'$bin/initdb' -D '$data_dir' -U archive --auth=trust -E UTF8 --locale=C.UTF-8" >&2
fi

if ! as_server_user "'$bin/pg_ctl' -D '$data_dir' status" >/dev/null 2>&1; then
    as_server_user "'$bin/pg_ctl' -D '$data_dir' -l '$data_dir/server.log' -w start \
        -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\"" >&2
fi

echo "export ARCHIVE_TEST_POSTGRES_URL=postgresql+psycopg://archive@127.0.0.1:$port/postgres"
