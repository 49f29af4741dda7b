"""Where the reports go (``--report DIR``, ``--junitxml FILE``), checked before anything runs.

A path that cannot be written is a usage error in one line, before the first server starts,
not an internal error at the end of the run.  The check does what writing will do -- creates
the missing directories and a file in the last one -- and then removes all it created, so a
run that ends early (or a usage error found later) leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ._command import UsageError


def check_directory(path: str, option: str, shown: str | None = None) -> None:
    """UsageError unless directory ``path`` exists or can be created, and files can be written
    in it; the message names ``option`` and ``shown`` (default ``path``)."""
    where = Path(path)
    path = path if shown is None else shown
    created: list[Path] = []
    try:
        if where.exists() and not where.is_dir():
            raise UsageError(f"{option} {path}: not a directory")
        missing = where
        while not missing.exists():
            created.append(missing)
            missing = missing.parent
        if not missing.is_dir():
            raise UsageError(f"{option} {path}: {missing} is not a directory")
        for directory in reversed(created):
            directory.mkdir()
        fd, probe = tempfile.mkstemp(prefix=".echo-conformance-", dir=where)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write there: {exc.strerror or exc}") from None
    finally:
        for directory in created:  # the deepest first
            try:
                directory.rmdir()
            except OSError:
                pass


def check_file(path: str, option: str) -> None:
    """UsageError unless file ``path`` can be written (created, or replaced if it exists)."""
    where = Path(path)
    if where.is_dir():
        raise UsageError(f"{option} {path}: a directory, not a file")
    check_directory(str(where.parent), option, shown=path)
    if where.exists():
        try:
            with open(where, "ab"):  # opened for writing, left as it is
                pass
        except OSError as exc:
            raise UsageError(f"{option} {path}: cannot write it: {exc.strerror or exc}") from None


def junit_path(value: str) -> str:
    """``--junitxml``'s value as pytest's junitxml plugin reads it."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.path.expandvars(value))))
