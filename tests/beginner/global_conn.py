"""Mistake: the client thread uses the global ``conn`` instead of a parameter: as soon as a
second client connects, the first one's thread reads from and echoes to the newest connection.

    def handle_client():
        data = conn.recv(1024)   # conn: the module's variable, which the next accept() rebinds
        ...
    conn, addr = server.accept()
    threading.Thread(target=handle_client).start()

Why people make it: with one client (how one tries a server by hand) it works, and Python
finds ``conn`` as a global without complaint; passing it with ``args=(conn,)`` is easy to
forget.  With two clients the first one's data goes to the second, and the first is never
answered or closed.
Where the pattern comes from: threaded-server tutorials and student code that start the
thread with ``target=`` and no ``args``, the handler reaching for the loop's variable.
"""

import threading

import _beginner


def handle_client():
    try:
        while True:
            data = conn.recv(1024)  # MISTAKE: the global conn: the newest connection
            if not data:
                break
            conn.sendall(data)
        conn.close()
    except OSError:
        pass


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)

while True:
    conn, addr = server.accept()
    threading.Thread(target=handle_client, daemon=True).start()
