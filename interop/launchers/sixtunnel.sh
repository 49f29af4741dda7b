#!/bin/sh
# 6tunnel forwarding HOST PORT to UPSTREAM_HOST UPSTREAM_PORT, not detached (-d); -6 when
# HOST is an IPv6 address (6tunnel listens on IPv4 unless told).
# Usage: sixtunnel.sh HOST PORT UPSTREAM_HOST UPSTREAM_PORT
set -eu
case $1 in *:*) family=-6 ;; *) family=-4 ;; esac
exec 6tunnel -d "$family" -l "$1" "$2" "$3" "$4"
