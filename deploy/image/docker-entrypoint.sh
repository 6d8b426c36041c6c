#!/bin/sh
# The image's entrypoint: reads the secret key from a file when asked, then runs the command.
# `docker run IMAGE api` is `weft api`; any other command (sh, python) runs as given.
set -eu

# WEFT_SECRET_KEY_FILE: a Docker/Compose secret or a mounted Kubernetes Secret, so the key is
# never in `docker inspect` or the process list.
if [ -n "${WEFT_SECRET_KEY_FILE:-}" ]; then
    if [ -n "${WEFT_SECRET_KEY:-}" ]; then
        echo "weft-entrypoint: set WEFT_SECRET_KEY or WEFT_SECRET_KEY_FILE, not both" >&2
        exit 2
    fi
    if [ ! -r "$WEFT_SECRET_KEY_FILE" ]; then
        echo "weft-entrypoint: cannot read WEFT_SECRET_KEY_FILE ($WEFT_SECRET_KEY_FILE)" >&2
        exit 2
    fi
    WEFT_SECRET_KEY=$(cat "$WEFT_SECRET_KEY_FILE")
    export WEFT_SECRET_KEY
fi

case "${1:-}" in
    serve | api | worker | migrate | secrets | org | linked-account | token | app | demo | --help)
        set -- weft "$@"
        ;;
esac
exec "$@"
