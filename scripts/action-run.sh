#!/usr/bin/env bash
# The GitHub Action's run step (action.yml): turns the action's inputs, given as INPUT_*
# environment variables, into an echo-conformance command line, runs it, adds the report to
# the job summary, annotates each case that did not pass (scripts/action_annotations.py: a
# failed case ::error, a SHOULD not met ::warning), and exits with the command's status
# (0 conforming, 1 a MUST failed, 2 interrupted, 3 internal error, 4 usage error, 6 the server
# could not be tested).  A cancelled job (SIGINT or SIGTERM to this script) stops the command
# as Ctrl-C would; the summary and the annotations still say how far it got.
#
# Locally:  INPUT_IMPL_CMD='./my-server --port {port}' scripts/action-run.sh
# ECHO_CONFORMANCE names the command to run, split on spaces (default: echo-conformance).
# tests/test_options.py checks that each input reaches the command as the option of
# echo_conformance/_options.py whose action_input it is.
set -euo pipefail

usage_error() { echo "echo-conformance action: error: $*" >&2; exit 4; }

args=()
# add OPTION VALUE: pass --option=VALUE when the input is not empty
add() { if [ -n "$2" ]; then args+=("$1=$2"); fi; }

add --impl-cmd       "${INPUT_IMPL_CMD:-}"
add --target         "${INPUT_TARGET:-}"
add --impl-file      "${INPUT_IMPL_FILE:-}"
add --impl-name      "${INPUT_NAME:-}"
add --impl-model     "${INPUT_MODEL:-}"
add --impl-kind      "${INPUT_KIND:-}"
add --impl-transport "${INPUT_TRANSPORTS:-}"
case "${INPUT_IPV6:-false}" in
  true) args+=(--impl-ipv6) ;;
  false | "") ;;
  *) usage_error "ipv6 must be true or false, not '${INPUT_IPV6}'" ;;
esac
add --impl-capacity  "${INPUT_CAPACITY:-}"
add --impl-connections "${INPUT_CONNECTIONS:-}"
add --impl-cwd       "${INPUT_CWD:-}"
add --known-failures "${INPUT_KNOWN_FAILURES:-}"
report_dir="${INPUT_REPORT_DIR:-echo-conformance-report}"
add --report         "$report_dir"

# extra-args: more options, split like a shell command line (quotes work; nothing is expanded)
extra=()
if [ -n "${INPUT_EXTRA_ARGS:-}" ]; then
  quoted=$("${PYTHON:-python3}" -c '
import shlex, sys
try:
    print(" ".join(shlex.quote(arg) for arg in shlex.split(sys.argv[1])))
except ValueError as exc:
    sys.exit(f"echo-conformance action: error: extra-args cannot be split: {exc}")
' "$INPUT_EXTRA_ARGS") || exit 4
  eval "extra=($quoted)"  # safe: every word is shlex-quoted
fi

read -ra command <<< "${ECHO_CONFORMANCE:-echo-conformance}"  # words, no globbing
echo "+ ${command[*]} ${args[*]} ${extra[*]+${extra[*]}}"
# In the background, so that a signal to this script is passed on (as SIGTERM: a background
# job starts with SIGINT ignored) and the summary is still written once the command has stopped.
started=$(mktemp)  # a report older than this is another run's
"${command[@]}" "${args[@]}" ${extra[@]+"${extra[@]}"} &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do  # the wait was cut short by a signal: wait for the command
  status=0
  wait "$pid" || status=$?
done
trap - INT TERM

if [ "$report_dir/report.json" -nt "$started" ]; then
  "${PYTHON:-python3}" "$(dirname "${BASH_SOURCE[0]}")/action_annotations.py" "$report_dir/report.json" || true
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ "$report_dir/report.md" -nt "$started" ]; then
    cat "$report_dir/report.md" >> "$GITHUB_STEP_SUMMARY"
  else
    echo "echo-conformance ended with exit status $status and wrote no report (see the step's log)." \
      >> "$GITHUB_STEP_SUMMARY"
  fi
fi
rm -f "$started"
exit "$status"
