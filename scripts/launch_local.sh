#!/usr/bin/env bash
# Two (or N) lerax-tui processes on this machine forming one cluster: every process runs the same
# command with its own --process-id; each gets DEVICES forced CPU devices. For trying --distributed
# without a cluster (README "Scaling out"). Ctrl-c stops every process (each writes its final and
# resume checkpoints); if one process dies, the others stop with an error.
#
# Each process runs on its own slice of this machine's cores (taskset), as processes on separate hosts
# would: XLA sizes a runtime's thread pools by the cores it may use, and N unpinned runtimes on the
# same cores oversubscribe them (bench/distributed.py: "own cores" against "shared cores"). -P shares
# every core between the processes instead; there are fewer cores than processes, or no taskset, they share.
#
#   scripts/launch_local.sh [-n PROCESSES] [-d DEVICES_PER_PROCESS] [-P] -- train CartPole-v1 --seeds 4 --steps 20000
set -euo pipefail
procs=2
devices=2
pin=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) procs="$2"; shift 2 ;;
    -d) devices="$2"; shift 2 ;;
    -P) pin=0; shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if [[ $# -eq 0 ]]; then
  echo "usage: $0 [-n PROCESSES] [-d DEVICES_PER_PROCESS] [-P] -- train ENV_ID [options]" >&2
  exit 2
fi
if ! [[ "$procs" =~ ^[1-9][0-9]*$ && "$devices" =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: -n and -d take whole numbers >= 1 (got -n $procs -d $devices)" >&2
  exit 2
fi
read -r -a cores <<<"$(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)))')"
per=$((${#cores[@]} / procs))
if [[ $pin -eq 1 && ($per -lt 1 || -z "$(command -v taskset)") ]]; then
  pin=0
fi
lerax_tui="${LERAX_TUI:-lerax-tui}"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export JAX_PLATFORMS="${JAX_PLATFORMS:-cpu}"
export XLA_FLAGS="--xla_force_host_platform_device_count=${devices} ${XLA_FLAGS:-}"
pids=()
stop() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; }
trap stop INT TERM
for ((i = 0; i < procs; i++)); do
  on=()
  if [[ $pin -eq 1 ]]; then
    mine="${cores[*]:i*per:per}"
    on=(taskset -c "${mine// /,}")
  fi
  LERAX_TUI_COORDINATOR="127.0.0.1:${port}" LERAX_TUI_NUM_PROCESSES="$procs" LERAX_TUI_PROCESS_ID="$i" \
    "${on[@]}" "$lerax_tui" "$@" --distributed &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
  while true; do
    rc=0
    wait "$pid" || rc=$?
    # a trapped signal interrupts wait while the process still runs (it is writing its checkpoints)
    kill -0 "$pid" 2>/dev/null || break
  done
  if [[ $status -eq 0 ]]; then status=$rc; fi
done
exit "$status"
