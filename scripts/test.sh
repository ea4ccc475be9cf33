#!/usr/bin/env bash
# The whole suite: builds, starts a throwaway PostgreSQL (stopped on exit),
# runs the Swift tests, then the integration tests against the built binary.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests

work=$(mktemp -d /tmp/mailgate-test.XXXXXX)
chmod 755 "$work"
pgdata="$work/pg"
cleanup() {
  bash scripts/pg.sh stop "$pgdata" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export MAILGATE_TEST_DATABASE_URL
MAILGATE_TEST_DATABASE_URL=$(bash scripts/pg.sh start "$pgdata")
export MAILGATE_TEST_PGDATA="$pgdata"
export MAILGATE_BIN="$PWD/.build/debug/mailgate"
echo "test database: $MAILGATE_TEST_DATABASE_URL"

status=0
swift test --skip-build || status=$?

if ls tests/integration/test_*.py >/dev/null 2>&1; then
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration || status=$?
fi
exit $status
