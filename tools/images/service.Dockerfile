# One Wharf service image (scheduler, job-launcher, log-archiver, stream-ingest); the build
# context is the service's bundle, dist/apps/<app>/ (main.js + a package.json naming the few
# runtime packages esbuild cannot inline). Built by tools/images/build.sh, which picks the bases:
#   official (default with internet): node:24-bookworm-slim + debian:bookworm-slim
#   local (no registry): wharf/node + wharf/debian from tools/images/build-base.sh (ADR 0006)
ARG NODE_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Only this service's production dependencies, resolved from its pruned package.json.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# build-ca.pem (optional): the CA bundle the build machine's npm trusts, for registries behind
# a TLS-intercepting proxy; it stays in this stage.
COPY package.json build-ca.pem* ./
RUN if [ -s build-ca.pem ]; then export NPM_CONFIG_CAFILE=/app/build-ca.pem; fi \
 && npm install --omit=dev --no-audit --no-fund --ignore-scripts --no-package-lock --loglevel=error \
 && npm cache clean --force >/dev/null 2>&1

FROM ${NODE_IMAGE} AS node

FROM ${RUNTIME_IMAGE}
ARG APP
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="wharf-${APP}" \
      org.opencontainers.image.description="Wharf ${APP}: batch jobs, workflows and stream ingestion on Kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Wharf" \
      org.opencontainers.image.source="https://github.com/wharf-dev/wharf"
# tini as PID 1 (signals, zombies); the local base already has it and ca-certificates.
RUN if ! command -v tini >/dev/null; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends tini ca-certificates >/dev/null \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 wharf \
 && useradd --system --uid 10001 --gid wharf --home-dir /app --no-create-home --shell /usr/sbin/nologin wharf
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json main.js main.js.map ./
USER 10001:10001
# No --enable-source-maps by default: it keeps every bundled source in memory (the idle
# scheduler measured 313-336 MiB with it, 172 MiB without). main.js.map ships for decoding a
# stack trace, or set NODE_OPTIONS=--enable-source-maps on a pod to debug.
ENV NODE_ENV=production \
    WHARF_OPS_HOST=0.0.0.0 \
    WHARF_OPS_PORT=9464
# Ops endpoint of every service; the scheduler also serves gRPC on 50051, stream-ingest webhooks on 8080.
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.WHARF_OPS_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/main.js"]
