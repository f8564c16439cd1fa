#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: npm packages, and redis-server from Debian's
# packages when it is missing; extra commands named as arguments likewise, as `command` when the
# Debian package has its name (wrk) or `command:package` when not (h2load:nghttp2-client). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` rather than `npm ci`: the lock names msgpackr's prebuilt binaries for other
  # platforms, which the registry reachable here does not serve, and `npm ci` refuses a lock with
  # optional packages it cannot resolve. `npm install` follows the same lock and skips them.
  echo "[ensure-deps] installing npm packages (npm install, from package-lock.json)" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
updated=""
need() { # need <command> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "[ensure-deps] $1 is missing: installing Debian's $2 package" >&2
  if [ -z "$updated" ]; then $SUDO apt-get update -qq || true; updated=1; fi
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null; then
    echo "[ensure-deps] could not install $2. Install it yourself (apt-get install $2)." >&2
    exit 1
  fi
}
need redis-server redis-server
for arg in "$@"; do need "${arg%%:*}" "${arg##*:}"; done
