#!/usr/bin/env bash
# Installs what the project's own tests need beyond requirements.txt, idempotently:
#   - Debian packages: the interop corpus's servers and relays (socat, HAProxy, xinetd, Ncat,
#     nginx's stream module, rinetd, Node.js) and Chromium (the report page is checked in a
#     real browser);
#   - interop/.venv: the corpus's Python servers (Twisted, gevent, uvloop, Trio), pinned in
#     interop/requirements.txt, kept apart from the suite's own virtualenv.
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
)
# node-echo and node-relay: any Node.js will do (Debian's, or one already installed).
command -v node >/dev/null || DEBIAN_PACKAGES+=(nodejs)

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
