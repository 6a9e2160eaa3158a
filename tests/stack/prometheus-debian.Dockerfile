# A stand-in for the official prom/prometheus image, from Debian bookworm's prometheus package,
# for machines that reach Debian's mirror but no image registry (the stack test tags it
# prom/prometheus:v<Debian's version> and swaps it in with compose.override.yml). Same layout
# as the official image: /bin/prometheus as ENTRYPOINT, user nobody, data in /prometheus,
# wget for the healthcheck.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus wget ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o nobody -g nogroup /prometheus \
 && /bin/prometheus --version
USER nobody
WORKDIR /prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
