#!/usr/bin/env bash
# Run lint and the test suite. PostgreSQL and Redis on their standard loopback ports are used
# when reachable (as on CI); otherwise SQLite and a private Redis started here.
set -euo pipefail
cd "$(dirname "$0")/.."

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

export EAS_DATA_DIR=${EAS_DATA_DIR:-$PWD/var/test}
mkdir -p "$EAS_DATA_DIR"

if [ -z "${DATABASE_URL:-}" ] && reachable 127.0.0.1 5432; then
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
fi
echo "database: ${DATABASE_URL:-embedded SQLite in $EAS_DATA_DIR}"

if [ -z "${REDIS_URL:-}" ]; then
  if reachable 127.0.0.1 6379; then
    export REDIS_URL=redis://127.0.0.1:6379/0
  else
    port=6391
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize yes \
      --pidfile "$EAS_DATA_DIR/redis.pid" --logfile "$EAS_DATA_DIR/redis.log"
    trap 'kill "$(cat "$EAS_DATA_DIR/redis.pid")" 2>/dev/null || true' EXIT
    export REDIS_URL=redis://127.0.0.1:$port/0
  fi
fi
echo "redis: $REDIS_URL"

.venv/bin/ruff check .
.venv/bin/pytest "$@"
