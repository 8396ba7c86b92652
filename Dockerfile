# own-audit-forwarder container image.
#
#   docker build -t own-audit-forwarder .
#   docker run -d --name own-audit-forwarder \
#     -v own-audit-state:/var/lib/own-audit-forwarder \
#     -v "$PWD/own-api-token:/run/secrets/own_api_token:ro" \
#     -v "$PWD/own-audit-forwarder.toml:/etc/own-audit-forwarder/own-audit-forwarder.toml:ro" \
#     -p 9464:9464 --stop-timeout 45 own-audit-forwarder
#
# Run one container per state volume: two daemons must never share a cursor (the
# daemon's lock file in the volume refuses a second one).
#
# scripts/check-container.sh builds the runtime stage with buildah, with a host-built
# binary standing in for the build stage, and runs the image.

ARG RUST_VERSION=1.95

# The README's release build, nothing more. The Kafka sink (a default feature) builds
# librdkafka and OpenSSL from source with the C compiler, make and perl that this image
# already has. For an image without Kafka, add --no-default-features.
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# benches/ too: Cargo.toml declares a benchmark, and cargo refuses a manifest whose
# targets are missing, even for a build that does not compile them.
COPY benches ./benches
COPY src ./src
RUN cargo build --release --locked

# The same Debian release as the build stage, so the binary finds the glibc it was
# linked against.
FROM docker.io/library/debian:bookworm-slim AS runtime

# The daemon verifies TLS with the system's certificate store (rustls reads
# /etc/ssl/certs), for the Own API and every TLS sink.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed, numeric, non-root uid and gid: Kubernetes' runAsNonRoot can check it, and
# volume permissions can be planned for it. The state directory belongs to it.
RUN groupadd --system --gid 10001 own-audit-forwarder \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/own-audit-forwarder --shell /usr/sbin/nologin own-audit-forwarder \
    && install -d -m 0700 -o 10001 -g 10001 /var/lib/own-audit-forwarder

COPY --from=build /src/target/release/own-audit-forwarder /usr/local/bin/own-audit-forwarder
COPY deploy/container/own-audit-forwarder.toml /etc/own-audit-forwarder/own-audit-forwarder.toml

# The configuration file (the command line's default path, stated for clarity), and two
# overrides of whatever file is mounted there: the state in the volume, and the
# listener on every interface, since 127.0.0.1 inside a container is unreachable from
# outside it. Any other OWN_AUDIT__ variable given to `docker run -e` overrides the
# file as well.
ENV OWN_AUDIT_CONFIG=/etc/own-audit-forwarder/own-audit-forwarder.toml \
    OWN_AUDIT__STATE_DIR=/var/lib/own-audit-forwarder \
    OWN_AUDIT__TELEMETRY__LISTEN=0.0.0.0:9464

# Checkpoints, token state and dead letters. Without a persistent volume here, a new
# container starts from start_from again and forwards old events a second time.
VOLUME ["/var/lib/own-audit-forwarder"]
# /metrics, /healthz and /readyz.
EXPOSE 9464

USER 10001:10001

# /healthz answers 200 while the process runs. Readiness (/readyz: every source polls
# and every sink is reachable) is for orchestrators that route or gate on it, not a
# reason to restart. The `health` command asks it on the address in
# OWN_AUDIT__TELEMETRY__LISTEN (a wildcard is reached on loopback), so the image needs
# no HTTP client of its own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/own-audit-forwarder", "health", "--timeout", "4s"]

# SIGTERM (docker stop) delivers what was fetched within shutdown_grace (30s by
# default) and writes the checkpoint. Docker waits only 10s before SIGKILL unless told
# otherwise (--stop-timeout, `docker stop -t`): nothing is lost then, but the batches in
# flight are fetched and sent again.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/own-audit-forwarder"]
CMD ["run"]
