#!/usr/bin/env bash
# `make run`: serve a development instance from the release build. When the
# config names no database and MAILGATE_DATABASE_URL is unset, a private
# PostgreSQL under .data/pg is started (and reused on the next run).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-conf/mailgate.toml}
bin=.build/release/mailgate

if [ -z "${MAILGATE_DATABASE_URL:-}" ] && [ -z "$("$bin" check-config --config "$config" --print-database-url)" ]; then
  mkdir -p .data
  MAILGATE_DATABASE_URL=$(bash scripts/pg.sh start "$PWD/.data/pg")
  export MAILGATE_DATABASE_URL
  echo "run: private PostgreSQL at $MAILGATE_DATABASE_URL (data in .data/pg)"
fi

"$bin" check-config --config "$config"
"$bin" migrate --config "$config"
exec "$bin" serve --config "$config"
