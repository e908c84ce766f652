#!/usr/bin/env bash
# Builds local stand-ins for the official base images the Dockerfile and the compose files name
# (node:24-bookworm-slim, postgres:15), for the Docker tests only: the test machines cannot pull
# from Docker Hub. Each is built from a Debian bookworm rootfs (debootstrap) and tagged under the
# official name, so the real Dockerfile and compose files are what the tests exercise.
# Idempotent: a tag that exists is left alone (FORCE=1 rebuilds). Needs root (debootstrap).
#
#   test/docker/base-images.sh            # both
#   DOCKER=/usr/bin/docker test/docker/base-images.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

docker=${DOCKER:-docker}
# The Debian mirror apt is configured with here (deb822 or one-line sources), else the default.
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 | grep -oE 'https?://[^ ]+' || true)
mirror=${mirror:-http://deb.debian.org/debian}
work=$(mktemp -d /tmp/btcbot-base-images.XXXXXX)
trap 'rm -rf "$work"' EXIT

has_image() { "$docker" image inspect "$1" >/dev/null 2>&1; }

# bookworm minbase rootfs imported as btcbot-test/bookworm-minbase (shared by both stand-ins).
base=btcbot-test/bookworm-minbase:latest
if [[ ${FORCE:-} == 1 ]] || ! has_image "$base"; then
  echo "debootstrap bookworm from $mirror ..."
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  echo "deb $mirror bookworm main" >"$work/rootfs/etc/apt/sources.list"
  tar -C "$work/rootfs" -c . | "$docker" import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi

# node:24-bookworm-slim: the node binary of the npm `node` package (Node 24), npm, a `node` user
# (uid 1000, as the official image), and this machine's CA bundle so npm reaches the registry
# from inside `docker build` (the official image needs none).
if [[ ${FORCE:-} == 1 ]] || ! has_image node:24-bookworm-slim; then
  ctx="$work/node"
  mkdir -p "$ctx"
  node_bin=$(readlink -f node_modules/node/bin/node)
  [[ $("$node_bin" --version) == v24.* ]] || { echo "node_modules/node/bin/node is not Node 24"; exit 1; }
  cp "$node_bin" "$ctx/node"
  npm_dir=$(readlink -f node_modules/npm 2>/dev/null || true)
  [[ -f $npm_dir/package.json ]] || npm_dir="$(npm root -g)/npm"
  cp -a "$npm_dir" "$ctx/npm"
  cafile=$(npm config get cafile 2>/dev/null || true)
  [[ -f $cafile ]] || cafile=/etc/ssl/certs/ca-certificates.crt
  cp "$cafile" "$ctx/ca.crt"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM btcbot-test/bookworm-minbase:latest
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca.crt /usr/local/share/btcbot-test-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && printf 'cafile=/usr/local/share/btcbot-test-ca.crt\nupdate-notifier=false\nfund=false\naudit=false\n' > /usr/local/etc/npmrc \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=24 NODE_EXTRA_CA_CERTS=/usr/local/share/btcbot-test-ca.crt
CMD ["node"]
DOCKERFILE
  "$docker" build -q -t node:24-bookworm-slim "$ctx" >/dev/null
  echo "built node:24-bookworm-slim"
fi

# postgres:15: Debian's postgresql-15 with an entrypoint that honours POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB and PGDATA as the official image does.
# Rebuilt when its entrypoint changed (the image carries the script's hash as a label).
entrypoint_hash=$(sha256sum test/docker/postgres-entrypoint.sh | cut -c1-16)
if [[ ${FORCE:-} == 1 ]] || [[ $("$docker" image inspect -f '{{index .Config.Labels "btcbot.test.entrypoint"}}' postgres:15 2>/dev/null) != "$entrypoint_hash" ]]; then
  ctx="$work/postgres"
  mkdir -p "$ctx"
  cp test/docker/postgres-entrypoint.sh "$ctx/docker-entrypoint.sh"
  cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM btcbot-test/bookworm-minbase:latest
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /var/run/postgresql /var/lib/postgresql/data \
 && chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
DOCKERFILE
  echo "LABEL btcbot.test.entrypoint=$entrypoint_hash" >>"$ctx/Dockerfile"
  "$docker" build -q -t postgres:15 "$ctx" >/dev/null
  echo "built postgres:15"
fi
