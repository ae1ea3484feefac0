"""Parallel loops in a forked child: serial where the parent's threads would abort it.

Numba's ``omp`` threading layer (GNU OpenMP, what pip's Numba uses when TBB is not
installed) is not fork-safe: once a ``prange`` loop has run, a child made by ``fork``
(``multiprocessing.Pool`` on Linux) that runs a parallel loop is terminated with "fork()
called from a process already using GNU OpenMP", and the pool waits forever. So a forked
child of such a process runs the serial twin of every loop (same results, one thread);
TBB and workqueue, and processes that never ran a parallel loop, keep their threads.
"""
import os

_forked = False


def _in_child():
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)


def parallel_allowed():
    """Whether this process may run a ``prange`` loop."""
    if not _forked:
        return True
    import numba
    try:
        return numba.threading_layer() != "omp"
    except ValueError:   # no threading layer launched, in the parent either
        return True
