"""Mistake: reads once, echoes that one read, and closes (thread per client).

    data = conn.recv(1024)
    conn.send(data)
    conn.close()

Why people make it: typed by hand with nc or telnet, one line arrives in one recv(), so the
server looks right; that recv() returns whatever has arrived so far (up to 1024 bytes), not a
"message", is invisible until a client sends more than one segment.
Where the pattern comes from: the first server of many socket tutorials (receive, reply,
close), and the socketserver docs' TCP handler, which handles a single recv() per connection.
"""

import _beginner


def handle(conn):
    data = conn.recv(1024)  # MISTAKE: one read is not the whole stream
    conn.send(data)
    conn.close()


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
print(f"echo server listening on {args.host}:{args.port}", flush=True)
_beginner.serve_in_threads(server, handle)
