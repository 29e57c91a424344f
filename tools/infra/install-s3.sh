#!/usr/bin/env bash
# Builds the local S3 server, versitygw (posix backend, one static binary), from the Go module
# proxy into the Wharf cache (tools/infra/go-install.sh).
#
# stdout: the install dir, and nothing else. It holds the binary, <install dir>/versitygw, so it
# is the `binDir` of startS3 (libs/testing/src/infra/s3.ts).
# stderr: progress. A second run prints "cached" and returns at once.
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf).
set -euo pipefail

VERSITYGW_VERSION=v1.8.0

exec bash "$(dirname "${BASH_SOURCE[0]}")/go-install.sh" versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" "-X=main.Version=$VERSITYGW_VERSION"
