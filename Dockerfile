# crashwatch operator image:  docker build -t crashwatch:0.1.0 .
#
# Two stages from one base. The builder installs the runtime dependencies from requirements.lock
# (every file checked against its sha256, wheels only) into a venv at /opt/venv, then builds the
# crashwatch wheel with a build backend that is itself hash-pinned (requirements-build.lock) and
# installs it with --no-deps. The final stage copies only /opt/venv: no compiler, no build backend,
# no pip, no source tree. Regenerate both lock files with `make lock`.
#
# The base is pinned by its full tag (CPython patch release + Debian release). It carries no
# @sha256 digest because a digest can only be read from the registry, which the machine this file
# was written on cannot reach. A release build should pin one without editing this file:
#   docker build --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest> .
# Both stages must use the same base: /opt/venv/bin/python links to the base's interpreter.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements-build.lock requirements.lock ./
# The build backend (setuptools, wheel) lives in a venv of its own that never reaches the image.
# /opt/venv gets no pip or setuptools of its own: the build venv's pip installs into it (--python).
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: \
        -r requirements-build.lock \
    && python -m venv --without-pip /opt/venv \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir \
        --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation \
        --wheel-dir /tmp/wheels . \
    && /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-deps \
        /tmp/wheels/crashwatch-*.whl

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="crashwatch" \
      org.opencontainers.image.description="A Kubernetes operator that says why containers fail and, where a team opts in, repairs it." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# The operator never installs anything at run time: drop the base image's packaging tools too.
RUN python -m pip uninstall --no-cache-dir --yes --quiet pip setuptools wheel
COPY --from=builder /opt/venv /opt/venv
# HOME: the UID below has no passwd entry; /tmp is the Deployment's writable emptyDir.
ENV PATH="/opt/venv/bin:${PATH}" \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# 65532:65532 is the UID/GID the Deployment sets (runAsUser/runAsGroup, runAsNonRoot): numeric,
# so the kubelet can verify non-root without a passwd entry.
USER 65532:65532
WORKDIR /tmp
# 9090: Prometheus /metrics; 8080: /healthz for the probes.
EXPOSE 9090 8080
ENTRYPOINT ["crashwatch"]
CMD ["run"]
