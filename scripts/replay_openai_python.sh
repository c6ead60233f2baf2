#!/usr/bin/env bash
# openai-python (pinned, in its own venv under target/) against `oai mock --replay` serving a
# cassette the Rust client recorded. Needs Python >= 3.8 and the PyPI registry; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/py-openai
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check openai==1.109.1
fi
cargo build -q -p oai-compat-cli
out=$(mktemp)
target/debug/oai mock --replay tests/fixtures/cassettes/recorded_blocking.jsonl >"$out" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
url=$(head -n1 "$out")
[ -n "$url" ] || { echo "oai mock printed no URL"; exit 1; }
"$venv/bin/python" scripts/replay_openai_python.py "$url"
