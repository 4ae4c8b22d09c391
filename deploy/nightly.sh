#!/usr/bin/env bash
# One night of certification on one rig: wait for real time, `modemcert doctor`, the run, its
# report and certificate, the comparison with the previous night of the same rig, a
# notification, then pruning by count and by size. modemcert-nightly@.service and the GitHub
# workflow both run it; docs/nightly.md explains every variable below.
#
#   deploy/nightly.sh RIG
#
# Exit status, for monitoring (the unit shows "failed" for any but 0):
#   0  every clause that ran passed and nothing regressed against the previous night
#   1  the module failed a clause
#   2  usage or configuration error (the rig file, an option)
#   3  the rig cannot certify: doctor found a broken piece, or a rig fault stopped the run
#   4  interrupted or incomplete (SIGTERM, a timeout, a test that did not finish)
#   5  the run passed but regressed against the previous night (modemcert compare)
#
# Environment (all optional; /etc/modemcert/nightly.env sets them for the unit):
#   MODEMCERT_REPORTS      where runs live (default: <checkout>/reports)
#   MODEMCERT_KEEP         runs kept per rig (default 30)
#   MODEMCERT_KEEP_MB      total size of the runs kept, in MB (default 2000)
#   MODEMCERT_TIME_WAIT    seconds to wait for the clock to be NTP-synchronised (default 600)
#   MODEMCERT_RUN_ARGS     extra arguments for `modemcert run` (e.g. "--suite init")
#   MODEMCERT_NOTIFY_COMMAND  a shell command run after each night (MODEMCERT_* vars set)
#   MODEMCERT_NOTIFY_URL   a webhook receiving the same summary as JSON (POST, via curl)
set -uo pipefail

rig=${1:?usage: deploy/nightly.sh RIG}
root=${MODEMCERT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${MODEMCERT_BIN:-$root/.venv/bin}
reports=${MODEMCERT_REPORTS:-$root/reports}
keep=${MODEMCERT_KEEP:-30}
keep_mb=${MODEMCERT_KEEP_MB:-2000}
time_wait=${MODEMCERT_TIME_WAIT:-600}
cd "$root" || exit 2

say() { echo "nightly[$rig]: $*"; }

# SIGTERM/SIGINT (systemd stop, a cancelled workflow) go to the running modemcert, which
# leaves the module and its lines in the safe state before it exits.
child=
forward() { if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi; }
trap 'forward TERM' TERM
trap 'forward INT' INT
run() {
  "$@" &
  child=$!
  local status
  while :; do
    wait "$child"; status=$?
    kill -0 "$child" 2>/dev/null || break # a trap interrupted `wait`: wait again
  done
  child=
  return "$status"
}

# PWR-BACKOFF keeps calendar times: never start on a clock that has not been set yet.
wait_for_time() {
  command -v timedatectl >/dev/null 2>&1 || return 0
  local waited=0
  until [ "$(timedatectl show -p NTPSynchronized --value 2>/dev/null)" = yes ]; do
    if [ "$waited" -ge "$time_wait" ]; then
      say "the clock is not NTP-synchronised after ${time_wait} s; going on (check timedatectl)"
      return 0
    fi
    sleep 5; waited=$((waited + 5))
  done
}

notify() { # status, summary
  export MODEMCERT_RIG=$rig MODEMCERT_EXIT=$1 MODEMCERT_SUMMARY=$2
  export MODEMCERT_RUN_DIR=${new_dir:-} MODEMCERT_PREVIOUS=${old:-}
  say "$2 (exit $1)"
  if [ -n "${MODEMCERT_NOTIFY_COMMAND:-}" ]; then
    sh -c "$MODEMCERT_NOTIFY_COMMAND" || say "the notify command failed (exit $?)"
  fi
  if [ -n "${MODEMCERT_NOTIFY_URL:-}" ]; then
    "$bin/python" - "$MODEMCERT_NOTIFY_URL" <<'PY' || say "the webhook failed"
import json, os, sys, urllib.request
keys = ("RIG", "EXIT", "SUMMARY", "RUN_DIR", "PREVIOUS")
body = json.dumps({k.lower(): os.environ.get(f"MODEMCERT_{k}", "") for k in keys}).encode()
req = urllib.request.Request(sys.argv[1], body, {"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30).read()
PY
  fi
}

finish() { # status, summary
  notify "$1" "$2"
  "$bin/python" "$root/deploy/prune.py" --reports-dir "$reports" --keep "$keep" --keep-mb "$keep_mb" \
    || say "pruning failed"
  exit "$1"
}

wait_for_time
mkdir -p "$reports"

run "$bin/modemcert" doctor --rig "$rig"
doctor=$?
if [ "$doctor" -ne 0 ]; then
  [ "$doctor" -eq 2 ] || doctor=3
  finish "$doctor" "doctor: the rig cannot certify tonight (see the FAIL lines above)"
fi

# shellcheck disable=SC2086 # MODEMCERT_RUN_ARGS is a list of words on purpose
run "$bin/modemcert" run --rig "$rig" --reports-dir "$reports" ${MODEMCERT_RUN_ARGS:-}
status=$?
new_dir=$(readlink -f "$reports/latest" 2>/dev/null || true)
if [ -z "$new_dir" ] || [ ! -f "$new_dir/timings.json" ]; then
  finish "$status" "the run left no record"
fi
new=$(basename "$new_dir")
"$bin/modemcert" report "$new_dir" --no-allure || say "the HTML report failed"
"$bin/modemcert" report "$new_dir" --certificate || say "the certificate failed"

# The previous night of the same rig: run ids sort by time and end in the rig's name.
old=$(find "$reports" -mindepth 1 -maxdepth 1 -type d -name "*-$rig" -printf '%f\n' | sort \
      | grep -v -x -F "$new" | tail -n 1)
regressed=0
if [ -n "$old" ]; then
  "$bin/modemcert" compare "$old" "$new" --lang en --reports-dir "$reports"
  [ $? -eq 1 ] && regressed=1
  "$bin/modemcert" compare "$old" "$new" --lang zh --reports-dir "$reports" >/dev/null || true
fi

case $status in
  0) if [ "$regressed" -eq 1 ]; then finish 5 "passed, but regressed against $old"; fi
     finish 0 "every clause passed${old:+; nothing regressed against $old}" ;;
  1) finish 1 "the module failed a clause (report: $new_dir/report.html)" ;;
  2) finish 2 "usage or configuration error" ;;
  3) finish 3 "a rig fault stopped the run: no verdict on the module" ;;
  *) finish 4 "interrupted or incomplete (exit $status)" ;;
esac
