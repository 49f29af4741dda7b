#!/bin/sh
# xinetd's built-in echo services (TCP and UDP), configured as Debian's /etc/xinetd.d/echo
# ships them (enabled), on HOST PORT, in the foreground.   Usage: xinetd.sh HOST PORT
set -eu
host=$1 port=$2
daemon=xinetd . "$(dirname "$0")/_rundir.sh"
cat > "$rundir/xinetd.conf" <<CONF
defaults
{
}
service echo
{
	type		= INTERNAL UNLISTED
	id		= echo-stream
	socket_type	= stream
	protocol	= tcp
	user		= root
	wait		= no
	port		= $port
	bind		= $host
}
service echo
{
	type		= INTERNAL UNLISTED
	id		= echo-dgram
	socket_type	= dgram
	protocol	= udp
	user		= root
	wait		= yes
	port		= $port
	bind		= $host
}
CONF
exec xinetd -dontfork -f "$rundir/xinetd.conf" -pidfile "$rundir/xinetd.pid"
