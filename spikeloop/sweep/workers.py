"""Worker processes that end with the sweep: a local process pool whose workers watch their sweep.

A sweep killed with SIGKILL cannot shut its pool down, and pool workers blocked on their task queue
would live on as orphans. Every worker therefore runs :func:`die_with` as its initializer:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the worker when the process that
  forked it (the pool's fork server, or the sweep itself) ends;
* everywhere, a daemon thread waiting on the sweep process itself (a pidfd where the OS has them, else
  polling ``os.kill(pid, 0)`` every second) that ends the worker when the sweep is gone.

The fork server (it forks the workers after importing the model once) ends by itself when the sweep
does: it exits when the pipe the sweep holds open reaches end-of-file.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

_PINNED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_PR_SET_PDEATHSIG = 1


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the thread below still watches
        pass


def _wait_for_exit(pid: int) -> None:
    """Return when process ``pid`` has ended (or does not exist)."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            return
        except OSError:  # pidfds not supported by this kernel: poll below
            pass
        else:
            select.select([fd], [], [])  # readable once the process has exited
            return
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:  # alive, owned by someone else (cannot happen for our own parent)
            pass
        time.sleep(1.0)


def _watch(pid: int) -> None:
    _wait_for_exit(pid)
    os._exit(1)  # the sweep is gone: nobody will read this worker's results


def die_with(sweep_pid: int) -> None:
    """Pool initializer: end this worker process when process ``sweep_pid`` (the sweep) ends."""
    _set_parent_death_signal()
    threading.Thread(target=_watch, args=(sweep_pid,), daemon=True, name="spikeloop-sweep-watch").start()


def local_executor(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers are forked from a server that has already imported the model, and
    end when this process ends (:func:`die_with`). Workers keep BLAS/OpenMP to one thread each (the
    parallelism is across points)."""
    if workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    for var in _PINNED:
        os.environ.setdefault(var, "1")
    ctx: BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(["spikeloop.sweep.execute"])
        ctx = server
    else:  # pragma: no cover - Windows
        ctx = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with, initargs=(os.getpid(),))
