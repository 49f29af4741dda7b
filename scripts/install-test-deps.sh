#!/usr/bin/env bash
# Installs what the project's own tests need beyond requirements.txt, idempotently:
#   - Debian packages: the interop corpus's servers and relays (socat, HAProxy, xinetd, Ncat,
#     nginx's stream module, rinetd, Node.js, openbsd-inetd, ucspi-tcp, redir, 6tunnel), the
#     languages and libraries of its echo servers (Go, Ruby, Perl, Tcl, Erlang, Java, libevent,
#     libuv) and Chromium (the report page is checked in a real browser);
#   - interop/.venv: the corpus's Python servers (Twisted, gevent, uvloop, Trio), pinned in
#     interop/requirements.txt, kept apart from the suite's own virtualenv;
#   - interop/node_modules: its npm relay (node-tcp-proxy), pinned in interop/package-lock.json;
#   - interop/build/: its compiled echo servers (C, Go, Java), rebuilt when a source changes,
#     and openbsd-inetd's inetd unpacked from its Debian package (installed, it would replace
#     xinetd: both provide inet-superserver).
# Run it as root (or with sudo) on Debian/Ubuntu; running it again changes nothing, and
# takes about a second when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

DEBIAN_PACKAGES=(
  chromium
  python3 python3-venv      # interop/.venv
  socat                     # socat-* entries
  haproxy                   # haproxy-tcp
  xinetd                    # xinetd-echo (its built-in echo services)
  ncat                      # ncat-echo, ncat-relay
  nginx libnginx-mod-stream # nginx-stream
  rinetd                    # rinetd
  golang-go                 # go-net-echo
  ruby                      # ruby-tcpserver-echo
  perl                      # perl-io-socket-echo
  tcl                       # tcl-socket-echo
  erlang-base               # erlang-gen-tcp-echo (escript)
  openjdk-17-jdk-headless   # java-thread-echo, java-pool-echo
  gcc libc6-dev libevent-dev libuv1-dev  # libevent-echo, libuv-echo
  libbsd0 libtirpc3 libwrap0  # openbsd-inetd-cat: the libraries of its inetd (below)
  ucspi-tcp                 # tcpserver-cat
  redir                     # redir
  6tunnel                   # 6tunnel
)
# node-echo, node-relay and node-tcp-proxy: any Node.js will do (Debian's, or one already
# installed), with npm for the last.
command -v node >/dev/null || DEBIAN_PACKAGES+=(nodejs)
command -v npm >/dev/null || DEBIAN_PACKAGES+=(npm)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Installing a daemon must not start it (HAProxy, nginx, xinetd and rinetd would each come
  # up on their system-wide configuration and ports): a policy-rc.d that says "no" while apt
  # runs, unless the machine already has one.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# interop/.venv, rebuilt only when interop/requirements.txt changes.
venv=interop/.venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum interop/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r interop/requirements.txt
  echo "$want" > "$stamp"
fi

# interop/node_modules, reinstalled (npm ci) only when interop/package-lock.json changes.
stamp=interop/node_modules/.package-lock.sha256
want=$(sha256sum interop/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  (cd interop && npm ci --silent --no-audit --no-fund)
  echo "$want" > "$stamp"
fi

# interop/build/: each compiled server, rebuilt when its source is newer than it.
mkdir -p interop/build
stale() { [ ! -e "$1" ] || [ "$2" -nt "$1" ]; }
for src in interop/launchers/*.c; do
  bin=interop/build/$(basename "$src" .c)
  case $src in *libevent*) libs="-levent" ;; *libuv*) libs="-luv" ;; *) libs="" ;; esac
  if stale "$bin" "$src"; then
    gcc -O2 -Wall -Werror -o "$bin" "$src" $libs
  fi
done
for src in interop/launchers/*.go; do
  bin=interop/build/$(basename "$src" .go)
  if stale "$bin" "$src"; then
    GOCACHE="${GOCACHE:-${HOME:-$PWD/interop/build}/.cache/go-build}" go build -o "$bin" "$src"
  fi
done
for src in interop/launchers/*.java; do
  class=interop/build/java/$(basename "$src" .java).class
  if stale "$class" "$src"; then
    javac --release 17 -d interop/build/java "$src"
  fi
done

# openbsd-inetd-cat: Debian's openbsd-inetd conflicts with xinetd (both provide
# inet-superserver), so its package is unpacked under interop/build/ instead of installed.
inetd=interop/build/openbsd-inetd
if [ ! -x "$inetd/usr/sbin/inetd" ]; then
  tmp=$(mktemp -d) && { [ "$(id -u)" -ne 0 ] || chown _apt "$tmp" 2>/dev/null || true; }  # apt downloads as _apt
  (cd "$tmp" && { apt-get download -qq openbsd-inetd || { $SUDO apt-get update -qq && apt-get download -qq openbsd-inetd; }; })
  rm -rf "$inetd" && dpkg-deb -x "$tmp"/openbsd-inetd_*.deb "$inetd"
  rm -rf "$tmp"
fi
