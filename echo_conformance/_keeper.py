"""The keeper: a tiny process between the suite and each server it starts.

Theory of operation
-------------------
A server must never outlive the suite, however the suite ends: a pass, a failure, Ctrl-C,
a pytest-timeout, or an xdist worker killed with SIGKILL.  A finalizer in the suite cannot
run in the last case, so each server is started by a keeper, which

* starts the server in a session (and process group) of its own, so one ``killpg`` reaches
  everything the server forked, and Ctrl-C in the terminal does not hit it directly;
* makes itself a child subreaper, so descendants that escape the group still end up as its
  children and can be killed;
* watches its own stdin, a pipe whose other end only the suite holds: EOF means "the suite
  is done with this server, or dead" -- either way, stop everything and exit.  A parent-death
  signal (SIGTERM) backs this up.

Protocol (one line each): stdin ``term`` sends SIGTERM to the server, ``kill`` sends SIGKILL
to its group, ``grace SECONDS`` sets how long the stop at EOF waits after SIGTERM before
SIGKILL (default: GRACE from the command line); stdout reports ``pid N``, ``exit CODE`` (negative: killed by that signal),
and ``error MESSAGE`` if the command could not be started at all.

Usage: python _keeper.py PARENT_PID OUTPUT_FILE CWD GRACE -- ARGV...
"""

import ctypes
import os
import resource
import signal
import subprocess
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: stdin EOF still works
        pass


def _say(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass


#: Linux lists each thread's children in /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN).
_CHILDREN_FILES = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def children(pid: int) -> list[int]:
    """The live children of ``pid``.  From its threads' children files, which cost a read
    per thread of ``pid``; without them, from a scan of every process on the machine, which
    costs a read per process -- and the suite runs a keeper per server, all polling."""
    if not _CHILDREN_FILES:
        return _scan().get(pid, [])
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                found += [int(child) for child in f.read().split()]
        except OSError:  # the thread ended meanwhile
            pass
    return found


def _scan() -> dict[int, list[int]]:
    """Every process's children, from each /proc/PID/stat."""
    table: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        table.setdefault(ppid, []).append(int(entry))
    return table


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (no third-party imports here: the keeper runs with -I -S)."""
    table = None if _CHILDREN_FILES else _scan()  # one scan for the whole tree, not one per node
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = children(parent) if table is None else table.get(parent, [])
        found += kids
        todo += kids
    return found


def _kill_all(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the server's group, wait up to ``grace``, then SIGKILL everything left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap_orphans(proc)
            if proc.poll() is not None and not children(os.getpid()):
                return
            time.sleep(0.01)


def main() -> int:
    parent, output, cwd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    grace = [float(sys.argv[4])]  # the stop's grace; a ``grace`` command changes it
    argv = sys.argv[sys.argv.index("--") + 1 :]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the suite's to handle
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the suite died before we could ask to be told
        return 0
    stopping = threading.Event()
    # Any signal that would end the keeper ends its server first.  A signal sent to the
    # suite's whole process group (Ctrl-\ sends SIGQUIT, a closed terminal SIGHUP, `timeout`
    # its signal) reaches the keeper but not the server, which has a session of its own.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGABRT, signal.SIGALRM,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
        signal.signal(sig, lambda *_: stopping.set())

    # Servers get as many descriptors as the machine allows: the suite holds more connections
    # open at once than select()'s FD_SETSIZE of 1024 (_registry.DEFAULT_CONNECTIONS).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    try:
        with open(output, "ab") as out:
            proc = subprocess.Popen(
                argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True, preexec_fn=_die_with_keeper,
            )
    except OSError as exc:
        _say(f"error {exc.strerror or exc}: {exc.filename or argv[0]}")
        return 0
    _say(f"pid {proc.pid}")

    def wait_server() -> None:
        code = proc.wait()
        _say(f"exit {code}")

    threading.Thread(target=wait_server, daemon=True).start()

    def read_commands() -> None:
        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "term":
                    os.kill(proc.pid, signal.SIGTERM)
                elif command == "kill":
                    os.killpg(proc.pid, signal.SIGKILL)
                elif command.startswith("grace "):
                    grace[0] = max(0.0, float(command.split()[1]))
            except (ProcessLookupError, PermissionError, ValueError, IndexError):
                pass
        stopping.set()  # EOF: the suite is finished with this server, or gone

    threading.Thread(target=read_commands, daemon=True).start()
    while not stopping.wait(0.5):
        _reap_orphans(proc)
    _kill_all(proc, grace[0])
    return 0


def _die_with_keeper() -> None:
    """In the server, before exec: SIGKILL it if the keeper itself is killed (SIGKILL leaves
    the keeper no chance to stop it; descendants of the server are the subreaper's task)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # ignored by the keeper; exec would keep that


def _reap_orphans(proc: subprocess.Popen) -> None:
    """Reap reparented grandchildren, but never the server itself (its waiter owns it).  Orphans
    are reparented to the keeper, a subreaper, so its own children are all there is to look at."""
    for pid in children(os.getpid()):
        if pid == proc.pid:
            continue
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


if __name__ == "__main__":
    sys.exit(main())
