# One image for all five services and the CLIs, built in two stages: compile on the Rust
# image, run on slim Debian as an unprivileged user. docker-compose.yml picks the binary.
# (rdkafka builds librdkafka from its bundled source: the build image's gcc and make do.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
    && mkdir -p /out \
    && cd target/release \
    && cp user-service vessel-service consignment-service log-service api-service \
          shippy user-cli vessel-cli consignment-cli log-cli /out/

FROM debian:bookworm-slim
# The key volumes mount under .shippy/keys (docker-compose.yml): a new named volume takes its
# folder's owner from the image, so the keys job, running as shippy, can write into it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app shippy \
    && mkdir -p /app/.shippy/keys/token /app/.shippy/keys/service /app/.shippy/keys/public \
       /app/.shippy/data \
    && chown -R shippy /app/.shippy
COPY --from=build /out/ /usr/local/bin/
WORKDIR /app
COPY config/ config/
COPY ui/ ui/
COPY samples/ samples/
USER shippy
CMD ["shippy", "--help"]
