#!/usr/bin/env bash
# Every example against real vLLM servers, in both modes: each must exit 0 and print what it
# promises. The chat examples get the chat server alone (tiny-llama, as `servers.sh start chat`
# starts it); `embed` gets the embedding server (it needs an embedding model by nature) and
# `router` both. Run by .ci/run's live stage:
#
#   scripts/examples_live.sh            # needs `scripts/servers.sh start chat embed` (or all)
#
# Each example is built and run by `cargo run`, one mode after the other: the two modes build
# example binaries of the same name into one target/debug/examples, so a binary built in one
# mode must never be run as the other.
#
# Environment: OAI_COMPAT_VLLM_CHAT_URL (default http://127.0.0.1:8000/v1),
# OAI_COMPAT_VLLM_EMBED_URL (default http://127.0.0.1:8001/v1).
set -euo pipefail
cd "$(dirname "$0")/.."

CHAT=${OAI_COMPAT_VLLM_CHAT_URL:-http://127.0.0.1:8000/v1}
EMBED=${OAI_COMPAT_VLLM_EMBED_URL:-http://127.0.0.1:8001/v1}
BLOCKING=()
ASYNC=(--no-default-features --features async,rustls)
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
ran=0

# check MODE NAME URL PATTERN [ARGS...]: runs the example with OPENAI_BASE_URL=URL; it must
# exit 0 and its stdout must match the extended regular expression PATTERN (its stderr, when
# PATTERN starts with `stderr:`: where a program reports on itself beside its answer).
check() {
  local mode=$1 name=$2 url=$3 pattern=$4
  shift 4
  local flags=()
  [ "$mode" = async ] && flags=("${ASYNC[@]}")
  [ "$mode" = blocking ] && flags=("${BLOCKING[@]}")
  printf '%-8s %-16s ' "$mode" "$name"
  local start=$SECONDS rc=0
  env -u OPENAI_API_KEY -u OPENAI_EMBED_BASE_URL -u OAI_COMPAT_BACKENDS \
    OPENAI_BASE_URL="$url" NO_PROXY=127.0.0.1 \
    timeout 300 cargo run --quiet "${flags[@]}" --example "$name" -- "$@" >"$out" 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "exit $rc"; echo "--- stdout"; cat "$out"; echo "--- stderr"; cat "$err"; exit 1
  fi
  local where=$out
  case $pattern in stderr:*) where=$err pattern=${pattern#stderr:} ;; esac
  if ! grep -Eq -- "$pattern" "$where"; then
    echo "exit 0, but $([ "$where" = "$err" ] && echo stderr || echo stdout) does not match /$pattern/"
    echo "--- stdout"; cat "$out"
    echo "--- stderr"; cat "$err"; exit 1
  fi
  echo "ok ($((SECONDS - start)) s)"
  ran=$((ran + 1))
}

# The router example takes its servers from OAI_COMPAT_BACKENDS and both model names.
router() {
  printf '%-8s %-16s ' blocking router
  local rc=0
  env -u OPENAI_API_KEY -u OPENAI_BASE_URL OAI_COMPAT_BACKENDS="$CHAT,$EMBED" NO_PROXY=127.0.0.1 \
    timeout 300 cargo run --quiet --example router -- tiny-llama all-MiniLM-L6-v2 >"$out" 2>"$err" || rc=$?
  if [ "$rc" -ne 0 ] || ! grep -q '^embeddings (all-MiniLM-L6-v2): 2 vectors$' "$out" \
    || ! grep -q '^chat (tiny-llama): ' "$out"; then
    echo "failed (exit $rc)"; cat "$out" "$err"; exit 1
  fi
  echo ok
  ran=$((ran + 1))
}

for mode in blocking async; do
  if [ "$mode" = blocking ]; then hello=hello chat=chat stream=stream
  else hello=hello_async chat=chat_async stream=stream_async; fi
  # The tiny model's replies are random tokens, so the checks are on each program's frame.
  check "$mode" "$hello" "$CHAT" '[^[:space:]]'
  check "$mode" "$chat" "$CHAT" '[^[:space:]]' --max-tokens 16 "Name three colours"
  check "$mode" "$stream" "$CHAT" 'finish_reason: length' "Tell me a joke"
  check "$mode" quickstart "$CHAT" '^  usage: [0-9]+ prompt \+ [0-9]+ completion'
  check "$mode" structured "$CHAT" '^mood: [A-Za-z]+, score: [0-9]+'
  check "$mode" tools "$CHAT" 'stderr:^[0-9]+ round\(s\), [0-9]+ messages in the conversation$'
  check "$mode" responses "$CHAT" 'stderr:^resp_[^ ]+ (completed|incomplete)' --max 16 "Hi"
done
check blocking mock_test "$CHAT" '[^[:space:]]' "some long text"
check blocking vllm_endpoints "$CHAT" '^vLLM version: [0-9]'
check blocking embed "$EMBED" '^384 1\.0000' "a cat" "a dog"
router
echo "$ran examples exited 0 against vLLM"
