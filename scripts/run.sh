#!/usr/bin/env bash
# Serve the intranet with its worker beside it; stopping the server (Ctrl-C) stops the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi
port="${PORT:-5000}"
export INTRANET_BASE_URL="${INTRANET_BASE_URL:-http://127.0.0.1:$port}"
.venv/bin/flask worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
echo "Intranet : http://127.0.0.1:$port  (Ctrl-C pour arrêter)"
.venv/bin/flask run --host 127.0.0.1 --port "$port" --with-threads
