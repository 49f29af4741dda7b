#!/bin/sh
# OpenBSD inetd (Debian's openbsd-inetd, unpacked by the install script) running cat(1) for
# each connection (nowait), on HOST PORT, not daemonized (-i).  Its built-in echo answers
# only on the echo port of /etc/services (7), so cat stands in for it, as in the classic
# inetd.conf line "echo stream tcp nowait root /bin/cat cat".   Usage: openbsd_inetd.sh HOST PORT
set -eu
host=$1 port=$2
case $host in *:*) host="[$host]" ;; esac
daemon=openbsd-inetd . "$(dirname "$0")/_rundir.sh"
printf '%s:%s\tstream\ttcp\tnowait\troot\t/bin/cat\tcat\n' "$host" "$port" > "$rundir/inetd.conf"
exec "$(dirname "$0")/../build/openbsd-inetd/usr/sbin/inetd" -i "$rundir/inetd.conf"
