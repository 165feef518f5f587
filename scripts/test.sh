#!/usr/bin/env bash
# Install the test dependencies, start a throwaway PostgreSQL, and run the whole test suite.
#
#   scripts/test.sh [pytest options]
#
# PostgreSQL comes from Debian's packages (installed when missing, which needs root). Without a
# server the PostgreSQL tests are skipped locally; with CI=true they fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ -z "${ARCHIVE_TEST_POSTGRES_URL:-}" ]; then
    if pg_env=$(scripts/start_test_postgres.sh); then
        eval "$pg_env"
    else
        echo "warning: could not start PostgreSQL; its tests will be skipped (or fail in CI)" >&2
    fi
fi

exec python3 -m pytest "$@"
