#!/usr/bin/env bash
# The one entry point behind the npm scripts (`npm test`, `npm run quickstart`, …).
# Works with the system Node 20: it first puts Node 24 on PATH (tools/node/node24.sh), installs
# the workspace's dependencies when package-lock.json changed, then runs the task.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/node/node24.sh
export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-false}"
export PATH="$PWD/node_modules/.bin:$PATH"

ensure_deps() {
  local want have=''
  want="$(node -p "require('crypto').createHash('sha256').update(require('fs').readFileSync('package-lock.json')).digest('hex')")"
  [[ -f node_modules/.wharf-lock-sha256 ]] && have="$(cat node_modules/.wharf-lock-sha256)"
  if [[ "$want" != "$have" ]]; then
    # `npm install`, not `npm ci`: the registries our machines reach do not carry every
    # platform's optional binary (e.g. @bufbuild/buf-darwin-arm64), so the lockfile cannot
    # list them and `npm ci` would reject it. With the lockfile present, install resolves the
    # same versions.
    echo "wharf: installing npm dependencies…" >&2
    # stdout too goes to stderr: `eval "$(bash tools/run.sh stack env)"` must read only the env
    # (npm prints the postinstall patch-package run on stdout).
    npm install --no-audit --no-fund --loglevel=error >&2
    node -p "require('crypto').createHash('sha256').update(require('fs').readFileSync('package-lock.json')).digest('hex')" > node_modules/.wharf-lock-sha256
  fi
}

# Runs jest and prints its totals as a plain "N passed, N failed" line.
run_jest() {
  local label="$1"; shift
  local report
  report="$(mktemp)"
  local status=0
  jest --json --outputFile="$report" "$@" || status=$?
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  ' "$report" "$label" | tee -a "${WHARF_TEST_SUMMARY:-/dev/null}" || true
  rm -f "$report"
  return "$status"
}

task="${1:-}"
shift || true
case "$task" in
  deps) ensure_deps ;;
  test-unit)
    ensure_deps
    run_jest unit -c jest.config.js "$@"
    ;;
  test-int)
    ensure_deps
    bash tools/infra/install.sh >&2
    run_jest integration -c jest.int.config.js "$@"
    ;;
  test)
    # Everything: unit tests, then integration tests against real Kafka, Kubernetes and S3.
    ensure_deps
    summary="$(mktemp)"
    export WHARF_TEST_SUMMARY="$summary"
    status=0
    run_jest unit -c jest.config.js || status=$?
    bash tools/infra/install.sh >&2
    run_jest integration -c jest.int.config.js || status=$?
    node -e '
      const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
      let passed = 0, failed = 0;
      for (const l of lines) { const m = /(\d+) passed, (\d+) failed/.exec(l); if (m) { passed += +m[1]; failed += +m[2]; } }
      console.log(`${passed} passed, ${failed} failed`);
    ' "$summary"
    rm -f "$summary"
    exit "$status"
    ;;
  lint)
    ensure_deps
    # The boundary rule reads nx's cached project graph and silently skips without one (a fresh
    # clone): compute it first.
    nx show projects >/dev/null
    eslint apps libs tools --max-warnings=0
    node tools/lint/check-boundaries.mjs
    prettier --check "**/*.{json,md,yaml,yml}" --log-level=warn
    ;;
  typecheck)
    ensure_deps
    for project in libs/* apps/*; do
      echo "typecheck $project" >&2
      tsc --noEmit -p "$project/tsconfig.json"
    done
    ;;
  build)
    ensure_deps
    for app in apps/*/; do node tools/build/bundle.mjs "${app%/}"; done
    ;;
  contracts-generate) ensure_deps; bash libs/contracts/scripts/generate.sh ;;
  contracts-check) ensure_deps; bash libs/contracts/scripts/generate.sh --check ;;
  stack) ensure_deps; exec tsx tools/infra/cli.ts "$@" ;;
  # NODE_NO_WARNINGS: kafkajs 2.2.4 trips Node 24's TimeoutNegativeWarning (kafkajs#1751), noise here.
  quickstart) ensure_deps; NODE_NO_WARNINGS=1 exec tsx tools/quickstart/quickstart.ts "$@" ;;
  # The declarative scenarios of apps/e2e against a running Wharf (default: the quickstart's).
  e2e) ensure_deps; exec tsx apps/e2e/src/main.ts "$@" ;;
  *)
    echo "usage: tools/run.sh test|test-unit|test-int|lint|typecheck|build|contracts-generate|contracts-check|stack|quickstart|e2e" >&2
    exit 2
    ;;
esac
