"""Mistake: a correct one-client-at-a-time (iterative) server, run with the suite's default
declaration, which promises a concurrent one.

    while True:
        conn, addr = s.accept()
        with conn:
            ...echo until EOF...

Why people make it: the Python docs' echo server serves exactly one client; wrapping it in
``while True`` makes it serve clients one after another, and with one client at a time (how
one tries a server by hand) nothing shows that the second client waits.  As written it is a
correct serial server (declare it with --impl-model serial); the mistake is the declaration
left at its default, concurrent.
Where the pattern comes from: the "Echo server program" of the Python socket module's docs,
in a ``while True`` loop (plus a try/except, in _beginner.echo, so that a client's reset
does not end it).
"""

import _beginner

args = _beginner.parse_args()
with _beginner.listen(args.host, args.port) as s:
    while True:
        conn, addr = s.accept()  # MISTAKE (as declared): the next client waits for this one
        _beginner.echo(conn)  # until this client's EOF
