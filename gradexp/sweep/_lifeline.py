"""Worker processes end when the process that started them dies, whatever kills it.

A :class:`concurrent.futures.ProcessPoolExecutor` worker blocked on its task queue holds that
queue's write end itself, so it never sees the parent go away; the fork server and the
``multiprocessing`` resource tracker wait for their clients in the same way. After a ``kill -9``
of ``gradexp verify`` they ran on for minutes. Two mechanisms end them:

* Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the process when its parent
  (the fork server for a worker, the main process for the fork server) exits;
* a watchdog thread in every worker that polls whether the main process still runs (every
  :data:`POLL_SECONDS`; a zombie counts as dead) and ends the worker if not, on any POSIX system
  and whichever start method made the worker.

With the workers and the fork server gone, the resource tracker sees end-of-file on its pipe
and exits by itself (after releasing what the dead processes held).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["die_with_parent", "start_watchdog", "process_alive", "POLL_SECONDS"]

POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent exits (Linux only).

    Returns True if the request was made. If the parent already died before the request (the
    process was re-parented), the process ends at once."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc
        return False
    if os.getppid() != parent:  # the parent died between the two calls
        os._exit(1)
    return True


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):  # no /proc (macOS): kill(pid, 0) is all we know
        return True


def start_watchdog(main_pid: int, interval: float = POLL_SECONDS) -> threading.Thread | None:
    """A daemon thread that ends this process (``os._exit``) once ``main_pid`` is gone."""
    if main_pid == os.getpid() or os.name != "posix":
        return None

    def watch():
        ev = threading.Event()
        while process_alive(main_pid):
            ev.wait(interval)
        os._exit(1)

    t = threading.Thread(target=watch, name="gradexp-lifeline", daemon=True)
    t.start()
    return t


def _in_fork_server() -> bool:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return b"multiprocessing.forkserver" in f.read()
    except OSError:
        return False
