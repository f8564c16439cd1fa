#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: npm packages, and redis-server from Debian's
# packages when it is missing. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[ensure-deps] installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "[ensure-deps] redis-server is missing: installing Debian's redis-server package" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null; }; then
    echo "[ensure-deps] could not install redis-server. Install it yourself (apt-get install redis-server) or set REDIS_URL to a running Redis." >&2
    exit 1
  fi
fi
