#!/usr/bin/env bash
# Start a vLLM OpenAI-compatible server for a tokenomics experiment.
#
# Usage: server/vllm_run_server.sh [options] [-- extra `vllm serve` flags]
#   --model ID            model to serve (default Qwen/Qwen3-4B)
#   --served-name NAME    name clients send as `model` (default: the model id)
#   --tp N                tensor-parallel size (default 1)
#   --pp N                pipeline-parallel size (default 1)
#   --port PORT           port (default 8000)
#   --host HOST           bind address (default 127.0.0.1)
#   --max-model-len N     context length (default: the model's)
#   --lora NAME=PATH      serve a LoRA adapter (repeatable; enables --enable-lora)
#   --max-loras N         adapters per batch (default 8 when --lora is given)
#   --dry-run             print the command and exit
#   -h, --help            this help
# Requires `pip install vllm` on a machine with a supported GPU.
set -euo pipefail
model=Qwen/Qwen3-4B served="" tp=1 pp=1 port=8000 host=127.0.0.1 maxlen="" max_loras=8 dry=0
loras=() extra=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift ;;
    --served-name) served="$2"; shift ;;
    --tp) tp="$2"; shift ;;
    --pp) pp="$2"; shift ;;
    --port) port="$2"; shift ;;
    --host) host="$2"; shift ;;
    --max-model-len) maxlen="$2"; shift ;;
    --lora) loras+=("$2"); shift ;;
    --max-loras) max_loras="$2"; shift ;;
    --dry-run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "vllm_run_server.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cmd=(vllm serve "$model" --host "$host" --port "$port" --tensor-parallel-size "$tp" --pipeline-parallel-size "$pp")
[ -n "$served" ] && cmd+=(--served-model-name "$served")
[ -n "$maxlen" ] && cmd+=(--max-model-len "$maxlen")
if [ "${#loras[@]}" -gt 0 ]; then
  cmd+=(--enable-lora --max-loras "$max_loras" --lora-modules "${loras[@]}")
fi
cmd+=("${extra[@]}")
if [ "$dry" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
command -v vllm >/dev/null || { echo "vllm_run_server.sh: 'vllm' not found: pip install vllm" >&2; exit 1; }
exec "${cmd[@]}"
