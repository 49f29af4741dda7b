# Sourced by the launchers that must write a configuration file (set $daemon first): makes
# $rundir, a fresh directory for it, and removes those that earlier launches left (older
# than an hour; their daemons read their configuration long ago).  The launcher then execs
# the daemon, so that it receives the suite's signals exactly as from an init system.
base="${TMPDIR:-/tmp}"
find "$base" -maxdepth 1 -name 'echo-interop-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
rundir=$(mktemp -d "$base/echo-interop-$daemon.XXXXXX")
