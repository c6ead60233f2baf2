#!/usr/bin/env bash
# openai-python (pinned, in its own venv under target/) against `oai mock --replay` serving
# cassettes the Rust client recorded: calls and streams, then uploads (multipart) on a second
# server. Needs Python >= 3.8 and the PyPI registry; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-openai
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check openai==1.109.1
fi
cargo build -q -p oai-compat-cli
pids=()
outs=()
# `${a[@]+...}`: an empty array under `set -u` is an error in bash before 4.4 (macOS's).
trap 'kill ${pids[@]+"${pids[@]}"} 2>/dev/null || true; rm -f ${outs[@]+"${outs[@]}"}' EXIT
url=
# Starts `oai mock --replay CASSETTE` and sets `url` to its URL (not in a subshell, so the
# trap knows its pid).
serve() {
  local out
  out=$(mktemp)
  outs+=("$out")
  target/debug/oai mock --replay "tests/fixtures/cassettes/$1" >"$out" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  url=$(head -n1 "$out")
  [ -n "$url" ] || { echo "oai mock --replay $1 printed no URL" >&2; exit 1; }
}
serve recorded_blocking.jsonl
calls=$url
serve recorded_uploads.jsonl
"$venv/bin/python" scripts/replay_openai_python.py "$calls" "$url"
