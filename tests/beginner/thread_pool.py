"""Mistake: hands each client to a ThreadPoolExecutor with the default number of workers
(min(32, CPUs + 4)): a client occupies a worker for as long as it stays connected, so once
that many clients are connected the next ones are accepted but not served until one leaves.

    pool = ThreadPoolExecutor()
    pool.submit(handle, conn)

Why people make it: "use a thread pool, not a thread per client" is standard advice, and the
default size looks generous; but a pool fits short tasks, not connections that stay open.  On
a two-core machine the 7th simultaneous client waits.
Where the pattern comes from: concurrent.futures examples and code-review advice applied to
a thread-per-client server.
"""

from concurrent.futures import ThreadPoolExecutor

import _beginner

args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)

pool = ThreadPoolExecutor()  # MISTAKE: a handful of workers, each held by one client
while True:
    conn, addr = server.accept()
    pool.submit(_beginner.echo, conn)
