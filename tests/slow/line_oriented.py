"""Defect: a line-oriented, text-mode echo: ``for line in conn.makefile("r")``, each line written
back through a text-mode writer, as many tutorials' and official docs' echo examples do.

Text mode decodes UTF-8 (invalid UTF-8 raises in the handler, which then drops the
connection), translates CR/LF to LF (universal newlines), and the line iterator holds back
everything until a newline (or EOF) arrives.
"""

import _slow  # noqa: F401
import _faulty


def handle(conn):
    with conn.makefile("r", encoding="utf-8") as reader, conn.makefile("w", encoding="utf-8") as writer:
        for line in reader:  # BUG: waits for a newline; decodes; rewrites CR/LF
            writer.write(line)
            writer.flush()


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
