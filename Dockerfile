# One application image for every AgentHub deployable; compose.yml chooses the role:
#   auth / agent / rag : nameko run --config services/config.yaml services.<name>.service
#   gateway            : agenthub gateway --host 0.0.0.0 --port 8000   (the default CMD)
#
#   docker build -t agenthub:latest .
#
# No secret is baked in: every secret comes from the environment at run time, and
# outside AGENTHUB_ENV=development a missing or default secret stops the process.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# ---------------------------------------------------------------------------
# console: the web console (web/console) built with Node, type-checked against
# schema/schema.graphql; only its output (gateway/static/console) is copied on
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS console
WORKDIR /src/web/console
COPY web/console/package.json web/console/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY schema/schema.graphql /src/schema/schema.graphql
COPY web/console/ ./
RUN npm run build

# ---------------------------------------------------------------------------
# build: a virtualenv in /opt/venv with torch (CPU), the dependencies, the project
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# Compilers stay in this stage: some optional dependencies (llama-cpp-python, ...)
# build from source. The runtime stage never sees them.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv

# 1. torch first, CPU build, from the PyTorch CPU index: a bare requirement from
#    PyPI would pull a multi-GB CUDA build. The constraint keeps every later
#    install from replacing it (2.13.0+cpu satisfies ==2.13.0).
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && echo "torch==${TORCH_VERSION}" > /opt/venv/constraints.txt
ENV PIP_CONSTRAINT=/opt/venv/constraints.txt

# 2. the project's dependencies, from pyproject.toml alone: this layer is rebuilt
#    only when pyproject.toml changes, not on every source edit.
WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r /tmp/requirements.txt

# 3. the project itself (the `agenthub` command, the packages and their data files).
COPY . .
COPY --from=console /src/gateway/static/console ./gateway/static/console
RUN pip install . \
    && cd / && python -c "import agenthub.cli, core.settings, gateway.settings, schema.models, services.common.settings" \
    && agenthub export-embedder

# ---------------------------------------------------------------------------
# runtime: python, the virtualenv, the source tree as working directory; non-root
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="AgentHub" \
      org.opencontainers.image.description="AgentHub services (auth, agent, rag) and GraphQL gateway" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    HAYSTACK_TELEMETRY_ENABLED=False \
    AGENTHUB_ENV=production \
    AGENTHUB_DATA_DIR=/data

# A fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 agenthub \
    && useradd --system --uid 10001 --gid agenthub --create-home --home-dir /home/agenthub \
       --shell /usr/sbin/nologin agenthub \
    && mkdir -p /data \
    && chown agenthub:agenthub /data

COPY --from=build /opt/venv /opt/venv

# The source tree is the working directory: `nameko run --config services/config.yaml`
# reads the config from here (and `nameko run` puts "." first on sys.path, so it
# imports this same code). Owned by root: the application cannot rewrite its code.
WORKDIR /app
COPY . /app
COPY --from=console /src/gateway/static/console /app/gateway/static/console
RUN python -m compileall -q /app

USER agenthub:agenthub

# /data is AGENTHUB_DATA_DIR. No VOLUME instruction (it would leave an anonymous
# volume behind every container); compose.yml mounts a named volume where data
# must outlive a container, and a new named volume inherits the ownership above.
EXPOSE 8000

# No HEALTHCHECK here: one image plays four roles, so compose.yml gives each its own.
CMD ["agenthub", "gateway", "--host", "0.0.0.0", "--port", "8000"]
