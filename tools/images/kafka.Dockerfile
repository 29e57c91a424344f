# Apache Kafka 4 in KRaft combined mode (broker + controller, one node), configured from the
# environment by wharf-kafka. The build context (made by build.sh) holds kafka/ — the jars and
# launchers tools/infra/install-kafka.sh resolved from Maven Central — and the scripts here.
#   official base (internet): debian:bookworm-slim + apt's openjdk-17-jre-headless
#   local base: wharf/jre:17-bookworm from build-base.sh (the same package, in the chroot)
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG KAFKA_VERSION=4.4.0
LABEL org.opencontainers.image.title="wharf-kafka" \
      org.opencontainers.image.description="Apache Kafka ${KAFKA_VERSION} (KRaft, single node) for Wharf's local clusters and tests" \
      org.opencontainers.image.version="${KAFKA_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN if ! command -v java >/dev/null || ! command -v tini >/dev/null; then \
      apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless tini >/dev/null \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 kafka \
 && useradd --system --uid 10001 --gid kafka --home-dir /var/lib/kafka --no-create-home --shell /usr/sbin/nologin kafka \
 && mkdir -p /var/lib/kafka && chown 10001:10001 /var/lib/kafka
COPY kafka /opt/kafka
COPY wharf-kafka wharf-kafka-ready log4j2-container.properties /opt/kafka/container/
RUN ln -s /opt/kafka/container/wharf-kafka /usr/local/bin/wharf-kafka \
 && ln -s /opt/kafka/container/wharf-kafka-ready /usr/local/bin/wharf-kafka-ready
ENV PATH=/opt/kafka/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    KAFKA_DATA_DIR=/var/lib/kafka/data
VOLUME /var/lib/kafka
USER 10001:10001
EXPOSE 9092 9093
HEALTHCHECK --interval=10s --timeout=10s --start-period=60s --retries=3 CMD ["wharf-kafka-ready"]
ENTRYPOINT ["/usr/bin/tini", "--", "wharf-kafka"]
