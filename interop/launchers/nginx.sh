#!/bin/sh
# nginx's stream module as a TCP relay (proxy_pass), its defaults otherwise, in the
# foreground.   Usage: nginx.sh HOST PORT UPSTREAM_HOST UPSTREAM_PORT
set -eu
host=$1 port=$2 upstream_host=$3 upstream_port=$4
case $host in *:*) host="[$host]" ;; esac
case $upstream_host in *:*) upstream_host="[$upstream_host]" ;; esac
daemon=nginx . "$(dirname "$0")/_rundir.sh"
cat > "$rundir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
pid $rundir/nginx.pid;
error_log stderr;
events {
}
stream {
	server {
		listen $host:$port;
		proxy_pass $upstream_host:$upstream_port;
	}
}
CONF
exec nginx -p "$rundir" -c "$rundir/nginx.conf"
