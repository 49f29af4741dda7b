"""Mistake: a TCP relay that starts a shell command for every connection: each accepted client
gets its own ``sh -c "exec ncat HOST PORT"`` process to reach the upstream, and the relay
copies between the client's socket and that process's pipes.  The copying is right (each
side's EOF is passed on); every connection first waits for a shell and a netcat to start.

    proc = subprocess.Popen(f"exec ncat {host} {port}", shell=True, stdin=PIPE, stdout=PIPE)

Why people make it: netcat already knows how to reach the upstream, so a subprocess per client
looks like the shortest way to a relay (it is what inetd, ``ncat --sh-exec`` and ``socat
EXEC:`` do); with one client at a time, the wait before each connection's first byte (ncat
loads OpenSSL's certificate bundle at every start: 0.2 to 0.5 s measured on a busy two-core
machine) and the process per client go unnoticed.
(The ``exec`` matters: without it, a shell that forks its last command -- dash, Debian's
/bin/sh -- keeps ncat's stdout pipe open until ncat exits, so the upstream's close never
reaches the client while the client's side is open: a second mistake, left out here.)
Where the pattern comes from: "port forwarding with netcat" recipes and SSH's ProxyCommand
idea, wrapped in a Python accept loop.
"""

import socket
import subprocess
import threading

import _beginner


def client_to_upstream(client, proc):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            proc.stdin.write(data)
            proc.stdin.flush()
    except OSError:
        pass
    try:
        proc.stdin.close()  # the client's EOF: ncat passes it on to the upstream
    except OSError:
        pass


def handle(client):
    with client:
        # MISTAKE: a shell and a netcat process per connection
        proc = subprocess.Popen(f"exec ncat {args.upstream_host} {args.upstream_port}", shell=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        upward = threading.Thread(target=client_to_upstream, args=(client, proc), daemon=True)
        upward.start()
        try:
            while True:
                data = proc.stdout.read1(65536)
                if not data:
                    break
                client.sendall(data)
            client.shutdown(socket.SHUT_WR)  # the upstream's EOF, passed on to the client
        except OSError:
            pass
        upward.join()  # until the client's EOF (or reset)
        proc.stdout.close()
        proc.wait()


args = _beginner.parse_args(relay=True)
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
