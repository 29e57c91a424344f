#!/usr/bin/env bash
# log-archiver benchmarks (figures in README.md):
#   bash tools/bench/log-archiver/run.sh [throughput|rss|all]
# Uses the S3 server named by WHARF_S3_* when set; otherwise starts its own versitygw from the
# infra cache (tools/infra/install-s3.sh) on a free port, and stops it at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
source tools/node/node24.sh
what="${1:-all}"
work="$(mktemp -d /tmp/la-bench-XXXXXX)"
s3_pid=''
cleanup() {
  if [[ -n "$s3_pid" ]]; then kill "$s3_pid" 2>/dev/null || true; wait "$s3_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [[ -z "${WHARF_S3_ENDPOINT:-}" ]]; then
  s3_dir="$(bash tools/infra/install-s3.sh 2>/dev/null | tail -1)"
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  export WHARF_S3_ACCESS_KEY_ID="BENCH$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
  export WHARF_S3_SECRET_ACCESS_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
  export WHARF_S3_ENDPOINT="http://127.0.0.1:$port" WHARF_S3_REGION=us-east-1
  mkdir -p "$work/s3"
  ROOT_ACCESS_KEY_ID="$WHARF_S3_ACCESS_KEY_ID" ROOT_SECRET_ACCESS_KEY="$WHARF_S3_SECRET_ACCESS_KEY" \
    "$s3_dir/bin/versitygw" --port "127.0.0.1:$port" --region us-east-1 --health /health --quiet posix "$work/s3" \
    >"$work/s3.log" 2>&1 &
  s3_pid=$!
  for _ in $(seq 100); do curl -fs "$WHARF_S3_ENDPOINT/health" >/dev/null 2>&1 && break; sleep 0.1; done
fi

# Launched like the service: bundled by the service's bundler with the app's bundle options
# (tools/build/bundle.mjs, apps/log-archiver/package.json), and run with the Deployment's
# runtime env (MALLOC_ARENA_MAX, NODE_OPTIONS from deploy/base/log-archiver/node-runtime.env).
# BENCH_NODE_FLAGS adds node flags (e.g. --cpu-prof) on top; BENCH_RUNTIME_ENV=none drops the
# runtime env (to compare).
bundle() {
  node tools/build/bundle.mjs apps/log-archiver --entry="tools/bench/log-archiver/$1.bench.ts" --outfile="$work/$1.js" >/dev/null
}
runtime_env=()
if [[ "${BENCH_RUNTIME_ENV:-}" != none ]]; then
  while IFS= read -r line; do
    [[ -z "$line" || "$line" == \#* ]] || runtime_env+=("$line")
  done < deploy/base/log-archiver/node-runtime.env
fi
launch() {
  env "${runtime_env[@]}" NODE_PATH="$PWD/node_modules" node ${BENCH_NODE_FLAGS:-} "$@"
}
echo "node $(node --version), $(nproc) cores, S3 $WHARF_S3_ENDPOINT, runtime env: ${runtime_env[*]:-(none)}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$what" == throughput || "$what" == all ]]; then
  bundle throughput && launch "$work/throughput.js"
fi
if [[ "$what" == rss || "$what" == all ]]; then
  bundle large-log-rss && launch "$work/large-log-rss.js"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
