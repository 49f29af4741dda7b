"""Mistake: a TCP relay whose copy loops close both sockets as soon as either side sends EOF:
when the client half-closes (shuts down its write side and waits for the answer), the relay
closes the client's connection at once, and the upstream's answer still in flight is lost.

    def pipe(src, dst):
        while data := src.recv(4096):
            dst.sendall(data)
        for sock in (src, dst):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()  # should be: dst.shutdown(socket.SHUT_WR), to pass the EOF on

Why people make it: "one side closed, so the session is over" holds for interactive use,
where the client closes after the last answer; a client that sends a request, shuts down its
write side and then reads the answer (nc -N, many RPC and HTTP/1.0 clients) loses the answer.
Where the pattern comes from: the "simple TCP proxy in Python" of blog posts and gists: two
threads, each copying one direction and closing both sockets when its recv() returns b"".
"""

import socket
import threading

import _beginner


def pipe(src, dst):
    _beginner.copy(src, dst, 4096)  # until src's EOF (or a reset)
    for sock in (src, dst):  # MISTAKE: EOF from one side closes both, instead of passing it on
        try:
            sock.shutdown(socket.SHUT_RDWR)  # (shutdown also wakes the other thread's recv)
        except OSError:
            pass
        sock.close()


def handle(client):
    try:
        upstream = socket.create_connection((args.upstream_host, args.upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)


args = _beginner.parse_args(relay=True)
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
