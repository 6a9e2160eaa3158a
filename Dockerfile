# mutex-edge and mutex-mgmt in one image, built from Debian bookworm's packages.
#
#   docker build -t mutex-edge:local .
#   docker run --rm -p 127.0.0.1:8080:8080 mutex-edge:local \
#     mutex-edge --config-file /usr/share/mutex-edge/examples/groups.json
#
# The build stage installs the build dependencies with the README's script
# (scripts/install-deps.sh --build-only) and builds the two binaries with the release preset.
# The runtime stage holds the two binaries, the Debian packages of the shared libraries they
# link (deploy/docker/runtime-packages.sh, run in the build stage), tini as PID 1 and the
# healthcheck script. Both servers read everything from flags and MUTEX_EDGE_* / MUTEX_MGMT_*
# variables; the keys come only from the environment (MUTEX_EDGE_API_KEY,
# MUTEX_EDGE_CLIENT_KEYS, MUTEX_MGMT_API_KEYS).
#
# It compiles through ccache: a context with build/ccache/ (the test command leaves there the
# release tree's compile of the same two binaries) reuses every object whose compiler, flags and
# sources are the same; without it, everything compiles.
#
# --build-arg BINARIES=prebuilt skips the compile: the build stage then takes build/docker/ of
# the context (bin/mutex-edge, bin/mutex-mgmt, runtime-packages), which the stack test stages from
# the release tree whose tests just passed, so that its image holds the binaries they tested.
# The runtime stage is the same either way.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# Lets a cache cleanup find this stage's superseded images (tests/stack/stack_test.py).
LABEL mutex-edge.stage=build
ARG BINARIES=source
WORKDIR /src
# The dependencies first: this layer stays cached while only the sources change.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN if [ "$BINARIES" = source ]; then ./scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*; fi
COPY . .
RUN if [ "$BINARIES" = prebuilt ]; then \
      cp -r build/docker /out; \
    else \
      { mv build/ccache /tmp/ccache 2>/dev/null || true; } \
      && rm -rf build \
      && export LANG=C.UTF-8 CCACHE_DIR=/tmp/ccache CCACHE_BASEDIR=/src CCACHE_CONFIGPATH=/src/scripts/ccache.conf \
      && ccache -z >/dev/null \
      && cmake --preset release -DMUTEX_EDGE_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
      && cmake --build --preset release --target mutex-edge mutex-mgmt \
      && echo "ccache:" $(ccache --print-stats | grep -E '^(direct_cache_hit|preprocessed_cache_hit|cache_miss)\s') \
      && rm -rf /tmp/ccache \
      && mkdir -p /out/bin \
      && install -s build/bin/mutex-edge build/bin/mutex-mgmt /out/bin/ \
      && deploy/docker/runtime-packages.sh /out/bin/mutex-edge /out/bin/mutex-mgmt >/out/runtime-packages; \
    fi \
 && echo "runtime packages:" $(cat /out/runtime-packages)

FROM ${BASE_IMAGE}
COPY --from=build /out/runtime-packages /usr/share/mutex-edge/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $(cat /usr/share/mutex-edge/runtime-packages) ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 mutex-edge \
 && useradd --system --uid 10001 --gid mutex-edge --home-dir /var/lib/mutex-edge \
      --no-create-home --shell /usr/sbin/nologin mutex-edge \
 && install -d -o mutex-edge -g mutex-edge -m 0750 /var/lib/mutex-edge /var/lib/mutex-mgmt
COPY --from=build /out/bin/mutex-edge /out/bin/mutex-mgmt /usr/local/bin/
COPY deploy/docker/healthcheck.sh /usr/local/bin/mutex-healthcheck
COPY examples/ /usr/share/mutex-edge/examples/

# Listen on every interface inside the container (the binaries' default is 127.0.0.1); a flag
# or a variable set at run time wins.
ENV MUTEX_EDGE_LISTEN=0.0.0.0:8080 \
    MUTEX_MGMT_LISTEN=0.0.0.0:9090
USER 10001:10001
WORKDIR /var/lib/mutex-edge
EXPOSE 8080 9090 9091
# tini is PID 1: it forwards SIGTERM to the server, which drains (/readyz 503, in-flight requests
# finish within --shutdown-grace) and exits 0, and it reaps any zombie.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["mutex-edge"]
STOPSIGNAL SIGTERM
# GET /healthz of the server the container runs (its --admin-listen, else its --listen; see
# the script). Compose and Kubernetes set their own probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/usr/local/bin/mutex-healthcheck"]

LABEL org.opencontainers.image.title="mutex-edge" \
      org.opencontainers.image.description="Serves experiment assignments for mutual exclusion groups (mutex-edge) and a local Management API (mutex-mgmt)"
