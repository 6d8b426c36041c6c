# Weft's container image: `docker build -t weft .` (docs/deploy.md "The container image").
# Stage 1 builds Weft's wheel (with the committed editor bundle, src/weft/web/dist: no Node.js
# here) and installs it with its dependencies into a virtual environment, compiled to bytecode
# (pip's default: a read-only container starts without compiling); stage 2 is the same Python
# base with that environment, without pip or build files, run as a non-root user.
# PYTHON_IMAGE must be a Debian-based Python 3.11+ image; deploy/image/check.py builds this
# file's stages from Debian's own packages where registry images cannot be pulled.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# A CA bundle for pip behind an intercepting proxy (a build-stage setting, not in the image).
ARG PIP_CERT
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# A wheel without the editor would serve an empty page: fail the build instead.
RUN test -f src/weft/web/dist/index.html \
 && python3 -m venv /opt/weft \
 && /opt/weft/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/weft/bin/pip install /wheels/weft-*.whl \
 && /opt/weft/bin/pip uninstall --yes pip \
 && /opt/weft/bin/python -c "import weft.web, pathlib; \
assert (pathlib.Path(weft.web.__file__).parent / 'dist' / 'index.html').is_file()"
COPY deploy/image/docker-entrypoint.sh /opt/weft/bin/weft-entrypoint
COPY deploy/image/healthcheck.py /opt/weft/bin/weft-healthcheck

FROM ${PYTHON_IMAGE} AS runtime
# A fixed uid/gid so volumes and Kubernetes' runAsUser/fsGroup can name them.
RUN groupadd --gid 10001 weft \
 && useradd --uid 10001 --gid weft --home-dir /var/lib/weft --no-create-home \
      --shell /usr/sbin/nologin weft \
 && mkdir -p /var/lib/weft \
 && chown weft:weft /var/lib/weft \
 && chmod 0700 /var/lib/weft
COPY --from=build /opt/weft /opt/weft
ENV PATH=/opt/weft/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WEFT_DATA_DIR=/var/lib/weft \
    WEFT_HOST=0.0.0.0 \
    WEFT_PORT=8000 \
    WEFT_LOG_FORMAT=json
# SQLite (the default) and the generated secret key live here; on PostgreSQL
# (WEFT_DATABASE_URL) it holds only the key, unless WEFT_SECRET_KEY(_FILE) is given.
VOLUME ["/var/lib/weft"]
WORKDIR /var/lib/weft
USER 10001:10001
EXPOSE 8000
# Readiness, not liveness: the database must answer too. start-period covers a first migration
# on a slow disk. `weft worker` serves no HTTP: its containers turn this check off.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["weft-healthcheck"]
ENTRYPOINT ["weft-entrypoint"]
CMD ["weft", "serve"]
