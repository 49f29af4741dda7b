"""Mistake: forks a child per connection and never reaps the children: each finished
connection leaves a zombie process behind.

    pid = os.fork()
    if pid == 0:
        ...serve the client...
        os._exit(0)
    conn.close()          # and no os.waitpid() anywhere, no SIGCHLD handler

Why people make it: the child exits, so it looks gone; that a parent must wait() for its
children (or set SIGCHLD to SIG_IGN) is Unix lore the fork examples skip, and zombies only
show in ps after many connections, until the process table or the user's process limit fills.
Where the pattern comes from: the classic accept()/fork() server of C network programming
books and courses, translated to Python's os.fork().
"""

import os

import _beginner

args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)

while True:
    conn, addr = server.accept()
    pid = os.fork()  # MISTAKE: nobody ever waits for this child
    if pid == 0:
        server.close()
        try:
            _beginner.echo(conn)
        finally:
            os._exit(0)
    conn.close()
