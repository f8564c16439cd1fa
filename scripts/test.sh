#!/usr/bin/env bash
# The one test command (README: `npm test`): installs what a fresh machine lacks, then runs the
# type check, lint, format check and the vitest suite against real Redis and dynalite.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-compose (Debian's v1) validates the compose file offline; chromium runs the browser tests;
# promtool (Debian's prometheus package) checks the scrape config and alert rules.
bash scripts/ensure-deps.sh docker-compose chromium promtool:prometheus
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
npx tsc --noEmit -p .
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx vitest run "$@"
