# chunkflow CPU image: multi-stage, non-root, `chunkflow` as entry point. Both stages start from the same
# Python image; the build stage runs docker/install.sh, the script CI's wheel test runs (.ci/wheel-test):
# sdist -> wheel -> wheelhouse -> a fresh venv installed offline from it.
#
#   docker build -t chunkflow:cpu .                          # all extras (inference on CPU, segmentation, mesh, viewer, dask)
#   docker build -t chunkflow:core --build-arg EXTRAS= .     # the core only: I/O, chains, queues
#   docker run --rm -v /data:/data chunkflow:cpu create-chunk -s 64 128 128 save-h5 -f /data/chunk.h5
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=all
# torch's CPU build (the PyPI Linux wheel bundles CUDA libraries a CPU image does not need)
ARG PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu"
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m pip install --no-cache-dir "build>=1.2" "setuptools>=77"
WORKDIR /src
COPY pyproject.toml constraints.txt README.md CHANGELOG.md ./
COPY src ./src
COPY docker/install.sh ./docker/install.sh
RUN PYTHON=python WORKDIR=/tmp/chunkflow-build PIP_ARGS="$PIP_ARGS" bash docker/install.sh /opt/chunkflow "$EXTRAS" \
 && /opt/chunkflow/bin/chunkflow --version \
 && rm -rf /tmp/chunkflow-build /root/.cache

FROM ${PYTHON_IMAGE}
COPY --from=build /opt/chunkflow /opt/chunkflow
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin chunkflow
ENV PATH=/opt/chunkflow/bin:$PATH \
    PYTHONUNBUFFERED=1
USER chunkflow
WORKDIR /home/chunkflow
ENTRYPOINT ["chunkflow"]
CMD ["--help"]
