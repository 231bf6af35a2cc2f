#!/usr/bin/env bash
# Build chunkflow's sdist and wheel, collect a local wheelhouse, and install the wheel into a fresh
# virtualenv offline from that wheelhouse. CI (.ci/wheel-test) and both Dockerfiles run this script,
# so the container install is the one CI tests.
#
#   docker/install.sh VENV [EXTRAS]            e.g. docker/install.sh /opt/chunkflow            (core only)
#                                                   docker/install.sh /opt/chunkflow inference,dask
# Environment:
#   PYTHON      interpreter that builds and owns the venv (default: python3.11, else python3); needs
#               `build` and `setuptools>=77` (installed into a throwaway tool venv when missing)
#   WORKDIR     where dist/ and wheelhouse/ go (default: a new temporary directory; kept, path printed)
#   PIP_ARGS    extra arguments for the wheelhouse download (e.g. --index-url for CUDA torch wheels)
#   PRE_WHEELS  requirements fetched into the wheelhouse first (e.g. "torch==2.13.0" from a CUDA index)
set -euo pipefail
VENV=${1:?usage: docker/install.sh VENV [EXTRAS]}
EXTRAS=${2:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
WORKDIR=${WORKDIR:-$(mktemp -d -t chunkflow-install.XXXXXX)}
mkdir -p "$WORKDIR"
DIST=$WORKDIR/dist
WHEELHOUSE=$WORKDIR/wheelhouse
rm -rf "$DIST"
mkdir -p "$DIST" "$WHEELHOUSE"

# 1. sdist, then the wheel built from the sdist (so the sdist is tested too)
BUILD_PY=$PYTHON
if ! "$PYTHON" -c "import build, setuptools" 2>/dev/null; then
  "$PYTHON" -m venv "$WORKDIR/tools"
  "$WORKDIR/tools/bin/pip" install -q "build>=1.2" "setuptools>=77"
  BUILD_PY=$WORKDIR/tools/bin/python
fi
"$BUILD_PY" -m build --no-isolation --outdir "$DIST" "$SRC" >"$WORKDIR/build.log" 2>&1 \
  || { cat "$WORKDIR/build.log" >&2; exit 1; }
WHEEL=$(ls "$DIST"/chunkflow-*.whl)
SPEC="chunkflow"
[ -n "$EXTRAS" ] && SPEC="chunkflow[$EXTRAS]"

# 2. a wheelhouse with the wheel and every dependency it needs (pip's cache makes reruns fast)
CONSTRAINTS=()
[ -f "$SRC/constraints.txt" ] && CONSTRAINTS=(-c "$SRC/constraints.txt")
if [ -n "${PRE_WHEELS:-}" ]; then
  # shellcheck disable=SC2086
  "$PYTHON" -m pip download -q ${PIP_ARGS:-} -d "$WHEELHOUSE" $PRE_WHEELS
fi
# shellcheck disable=SC2086
"$PYTHON" -m pip wheel -q ${PIP_ARGS:-} "${CONSTRAINTS[@]}" --find-links "$WHEELHOUSE" -w "$WHEELHOUSE" \
  "${WHEEL}${EXTRAS:+[$EXTRAS]}"

# 3. a fresh venv, installed offline from the wheelhouse only
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELHOUSE" "$SPEC"
echo "installed $(basename "$WHEEL") ${EXTRAS:+[$EXTRAS] }into $VENV (wheels in $WORKDIR)"
