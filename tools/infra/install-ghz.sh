#!/usr/bin/env bash
# Builds ghz, Go's gRPC load generator, from the Go module proxy into the Wharf cache
# (tools/infra/go-install.sh). Only the scheduler's submit benchmark uses it
# (`submit-bench.ts --client ghz`), as a load generator that is not Wharf's own code.
#
# stdout: the install dir, and nothing else; it holds <install dir>/ghz.
# stderr: progress. A second run prints "cached" and returns at once.
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf).
set -euo pipefail

exec bash "$(dirname "${BASH_SOURCE[0]}")/go-install.sh" ghz github.com/bojand/ghz/cmd/ghz v0.120.0
