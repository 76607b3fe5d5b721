#!/usr/bin/env bash
# The whole suite: ruff, then the tests on SQLite with the browser tests, then the database tests on
# PostgreSQL.
# Under CI=true a missing PostgreSQL or Chromium, or any skipped test, is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
unset INTRANET_DEMO INTRANET_DATABASE_URL
# Two pytest-xdist workers (the machine has 2 cores); each has its own database. TEST_WORKERS=0
# runs in one process (easier to read a failure).
workers=(-n "${TEST_WORKERS:-2}")
[ "${TEST_WORKERS:-2}" = "0" ] && workers=()
# ruff first: a second, a style slip found before 20 minutes of tests rather than never.
echo "== ruff =="
.venv/bin/ruff check .
echo "== Tests on SQLite (and browser tests) =="
.venv/bin/python -m pytest "${workers[@]}" "$@"
if [ -n "${INTRANET_TEST_POSTGRES_URL:-}" ]; then
  echo "== Tests on PostgreSQL (${INTRANET_TEST_POSTGRES_URL%%@*}@…) =="
  INTRANET_TEST_DB=postgres .venv/bin/python -m pytest "${workers[@]}" -m "not browser" "$@"
elif [ "${CI:-}" = "true" ]; then
  echo "CI=true but INTRANET_TEST_POSTGRES_URL is not set: the PostgreSQL run cannot be skipped in CI." >&2
  exit 1
else
  echo "PostgreSQL run skipped: set INTRANET_TEST_POSTGRES_URL (see .ci/run) to run the suite on PostgreSQL too."
fi
