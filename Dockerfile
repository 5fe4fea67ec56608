# Multi-stage build: compile with the full toolchain, run on a slim image as a non-root user.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Native libraries (libpq, SQLite, OpenSSL) are built from source by their -sys crates.
RUN apt-get update && apt-get install -y --no-install-recommends perl make && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY data/territory ./data/territory
COPY config ./config
COPY tests ./tests
RUN cargo build --release --locked --bin essor

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin essor \
    && mkdir -p /app/data && chown essor /app/data
WORKDIR /app
COPY --from=build /src/target/release/essor /usr/local/bin/essor
COPY config ./config
USER essor
ENV APP_ENV=production APP__SERVER__HOST=0.0.0.0 APP__SERVER__PORT=8080 APP__DATA_DIR=/app/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["essor"]
CMD ["serve"]
