#!/bin/sh
# rinetd forwarding HOST PORT to UPSTREAM_HOST UPSTREAM_PORT, in the foreground (-f).
# Usage: rinetd.sh HOST PORT UPSTREAM_HOST UPSTREAM_PORT
set -eu
daemon=rinetd . "$(dirname "$0")/_rundir.sh"
echo "$1 $2 $3 $4" > "$rundir/rinetd.conf"
exec rinetd -f -c "$rundir/rinetd.conf"
