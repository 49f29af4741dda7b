#!/bin/sh
# systemd-socket-activate listening on HOST:PORT and running cat(1) for each connection on
# its stdin and stdout (--inetd --accept), as its man page's echo example does; an IPv6
# HOST goes in brackets.   Usage: systemd_socket_activate.sh HOST PORT
set -eu
host=$1
case $host in *:*) host="[$host]" ;; esac
exec systemd-socket-activate --inetd -a -l "$host:$2" cat
