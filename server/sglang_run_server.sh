#!/usr/bin/env bash
# Start an SGLang OpenAI-compatible server for a tokenomics experiment.
#
# Usage: server/sglang_run_server.sh [options] [-- extra sglang.launch_server flags]
#   --model ID            model path or Hub id (default Qwen/Qwen3-4B)
#   --served-name NAME    name clients send as `model` (default: the model id)
#   --tp N                tensor-parallel size (default 1)
#   --port PORT           port (default 8000; SGLang's own default is 30000)
#   --host HOST           bind address (default 127.0.0.1)
#   --max-model-len N     context length (--context-length)
#   --lora NAME=PATH      serve a LoRA adapter (repeatable; enables --enable-lora)
#   --max-loras N         adapters per batch (default 8 when --lora is given)
#   --dry-run             print the command and exit
#   -h, --help            this help
# LoRA requests name the adapter as `model:adapter` (set `lora` in the scenario).
# Requires `pip install "sglang[all]"` on a machine with a supported GPU.
set -euo pipefail
model=Qwen/Qwen3-4B served="" tp=1 port=8000 host=127.0.0.1 maxlen="" max_loras=8 dry=0
loras=() extra=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift ;;
    --served-name) served="$2"; shift ;;
    --tp) tp="$2"; shift ;;
    --port) port="$2"; shift ;;
    --host) host="$2"; shift ;;
    --max-model-len) maxlen="$2"; shift ;;
    --lora) loras+=("$2"); shift ;;
    --max-loras) max_loras="$2"; shift ;;
    --dry-run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "sglang_run_server.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
cmd=(python3 -m sglang.launch_server --model-path "$model" --host "$host" --port "$port" --tp-size "$tp")
[ -n "$served" ] && cmd+=(--served-model-name "$served")
[ -n "$maxlen" ] && cmd+=(--context-length "$maxlen")
if [ "${#loras[@]}" -gt 0 ]; then
  cmd+=(--enable-lora --max-loras-per-batch "$max_loras" --lora-paths "${loras[@]}")
fi
cmd+=("${extra[@]}")
if [ "$dry" = 1 ]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
python3 -c 'import sglang' 2>/dev/null || { echo "sglang_run_server.sh: sglang not importable: pip install \"sglang[all]\"" >&2; exit 1; }
exec "${cmd[@]}"
