# versitygw, an S3-compatible gateway (posix backend): Wharf's archive store on local clusters
# and in tests. The build context holds the static binary tools/infra/install-s3.sh built from
# the Go module proxy. Root credentials come from ROOT_ACCESS_KEY_ID / ROOT_SECRET_ACCESS_KEY.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG VERSITYGW_VERSION=v1.8.0
LABEL org.opencontainers.image.title="wharf-versitygw" \
      org.opencontainers.image.description="versitygw ${VERSITYGW_VERSION} S3 gateway (posix backend)" \
      org.opencontainers.image.version="${VERSITYGW_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN if ! command -v tini >/dev/null; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends tini >/dev/null && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 s3 \
 && useradd --system --uid 10001 --gid s3 --home-dir /data --no-create-home --shell /usr/sbin/nologin s3 \
 && mkdir -p /data && chown 10001:10001 /data
COPY versitygw /usr/local/bin/versitygw
VOLUME /data
USER 10001:10001
EXPOSE 7070
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/7070"]
ENTRYPOINT ["/usr/bin/tini", "--", "versitygw"]
CMD ["--port", ":7070", "--health", "/health", "posix", "/data"]
