# syntax=docker/dockerfile:1.7
# docpipe: one image for every worker, the review app and the outbox relay (`docpipe <command>`).
#   docker build -t docpipe .                   CPU image (onnxruntime CPU)
#   docker build -t docpipe-gpu --target gpu .  GPU image (onnxruntime-gpu: TensorRT + CUDA providers)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG TENSORRT_IMAGE=nvcr.io/nvidia/tensorrt:25.01-py3

# ---- build: resolve wheels once, into a relocatable virtualenv ----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, so this layer stays cached while only sources change.
COPY pyproject.toml README.md ./
COPY infra/docker/requirements.py infra/docker/requirements.py
RUN python infra/docker/requirements.py postgres > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY . .
RUN pip install --no-deps . && docpipe --help >/dev/null

# ---- runtime (CPU, default target) -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 docpipe \
 && useradd --system --uid 10001 --gid docpipe --home-dir /var/lib/docpipe --create-home docpipe
COPY --from=build /opt/venv /opt/venv
# Versioned assets read at run time (prompts, policies, schemas) travel with the code, read-only.
COPY --from=build /src /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    DOCPIPE_HOME=/var/lib/docpipe \
    DOCPIPE_METRICS_PORT=9100
USER 10001:10001
EXPOSE 9100 8000
HEALTHCHECK NONE
ENTRYPOINT ["tini", "--", "docpipe"]
CMD ["--help"]

# ---- gpu: TensorRT + CUDA + cuDNN from NVIDIA's image; onnxruntime-gpu replaces onnxruntime -----------
FROM ${TENSORRT_IMAGE} AS gpu
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 docpipe \
 && useradd --system --uid 10001 --gid docpipe --home-dir /var/lib/docpipe --create-home docpipe \
 && python3 -m venv --system-site-packages /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md ./
COPY infra/docker/requirements.py infra/docker/requirements.py
# Both onnxruntime wheels ship the same `onnxruntime` module: install deps, then keep only the GPU one.
RUN python infra/docker/requirements.py postgres > /tmp/requirements.txt \
 && python infra/docker/requirements.py --only gpu > /tmp/gpu.txt \
 && pip install -r /tmp/requirements.txt \
 && pip uninstall -y onnxruntime \
 && pip install --force-reinstall --no-deps -r /tmp/gpu.txt \
 && python -c "import onnxruntime as o; p = o.get_available_providers(); assert 'CUDAExecutionProvider' in p, p"
COPY . .
RUN pip install --no-deps . \
 && mkdir -p /var/cache/docpipe/trt \
 && chown docpipe:docpipe /var/cache/docpipe/trt
ENV PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    DOCPIPE_HOME=/var/lib/docpipe \
    DOCPIPE_METRICS_PORT=9100 \
    DOCPIPE_INFERENCE__PROVIDER=auto \
    DOCPIPE_INFERENCE__TRT_ENGINE_CACHE_DIR=/var/cache/docpipe/trt
USER 10001:10001
EXPOSE 9100
ENTRYPOINT ["tini", "--", "docpipe"]
CMD ["worker", "extract"]

# The default target is the CPU image.
FROM runtime
