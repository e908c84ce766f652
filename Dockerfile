# btcbot's image: built with the dev dependencies (tsc), run with the production ones only.
#   docker build -t btcbot \
#     --build-arg VERSION=$(node -p 'require("./package.json").version') \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
# docs/DEPLOYMENT.md: the compose stacks, Watchtower, the figures.

# ---- build: the dev dependencies, then tsc -> dist/ -------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (the build) needs src/, copied after so that a source change keeps this
# layer; and the `node` dev package's install script would fetch a second Node binary for nothing.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: the production dependencies alone (no tsc, no vitest, no `node` binary package) ----------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the root's `prepare` is the build, done in the build stage. The npm cache is a
# throwaway directory: this stage's node_modules is all the runtime takes.
# OpenTelemetry's packages ship each build three times (build/src CommonJS, build/esm, build/esnext);
# Node resolves only build/src (their `exports` give esm/esnext under bundler-only conditions), so
# the other two go: ~120 MB of the image.
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts --cache /tmp/npm-cache \
 && rm -rf /tmp/npm-cache \
 && find node_modules -type d \( -path '*/@opentelemetry/*/build/esm' -o -path '*/@opentelemetry/*/build/esnext' \) -prune -exec rm -rf {} +

# ---- runtime --------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
# tini as PID 1: it forwards SIGTERM to node (docker stop, Watchtower) and reaps zombies; node as
# PID 1 would get no default signal handling from the kernel.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json LICENSE ./
COPY db/migrations ./db/migrations
COPY examples/docker.yaml ./config/grid.yaml
# `btcbot <command>` on PATH: Watchtower runs the pre-update hook `btcbot update-guard` with sh -c.
# The embedded database's directory (used without DATABASE_URL) belongs to the user that runs.
RUN ln -s /app/dist/cli/main.js /usr/local/bin/btcbot \
 && mkdir -p /app/data && chown node:node /app/data

ARG VERSION=0.0.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/btcbot/btcbot
LABEL org.opencontainers.image.title="btcbot" \
      org.opencontainers.image.description="Spot grid-trading bot for BTC: XState statecharts on a supervised actor runtime" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"

# BUILD_SHA is the version /health shows. HTTP_HOST: reachable through the published port.
ENV NODE_ENV=production \
    BUILD_SHA=${REVISION} \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    DATA_DIR=/app/data
USER node
EXPOSE 8080
# The bot exits within 8 s of SIGTERM; give docker stop / compose (stop_grace_period) more than that.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/cli/main.js", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli/main.js"]
CMD ["run", "--config", "/app/config/grid.yaml"]
