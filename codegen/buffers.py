"""Output arrays for the kernels' results, recycled between calls.

Every array call returns new result arrays. A Hessian of the neuron over 10**6 points
returns 21 of them (168 MB). With glibc's default settings, memory freed when the caller
drops the previous results goes back to the operating system (the heap is trimmed once
more than twice the mmap threshold is free at its top), and the next call's arrays are
fresh pages: the kernel zeroes and maps 41,000 of them, which took 45 ms per call here
against 7-8 ms for the loop itself (JAX pays the same for its outputs).

So result arrays come from a small pool: ``empty(size)`` returns a float64 array on a
64-byte line (streaming stores write its lines whole) whose memory, once the caller has
dropped every array that views it, goes back to the pool instead of to the allocator, and
serves a later call of the same size without a page fault. Only the memory of arrays
that nothing references any more is reused: each array's base is an ``_Owner`` whose
finalizer (``__del__``, run when its last view dies) returns the memory.

The pool keeps at most ``SYMDIFF_POOL_MB`` megabytes (default 512) of idle memory (the
longest-idle arrays go first); arrays
below ``MIN_BYTES`` (1 MB) come from NumPy directly, as the allocator reuses those well.
``release()`` empties the pool.
"""
import os
import threading

import numpy as np

MIN_BYTES = 1 << 20
LINE = 64


def _limit():
    try:
        return max(0, int(float(os.environ.get("SYMDIFF_POOL_MB", "512")) * (1 << 20)))
    except ValueError:
        return 512 << 20


_lock = threading.RLock()   # re-entrant: a finalizer may run inside a locked section
_idle = {}          # size (doubles) -> list of raw arrays
_order = []         # (size, raw) of every idle array, longest idle first
_idle_bytes = 0


def _first_line(raw):
    """Index of raw's first element on a 64-byte line (raw has LINE // 8 spare elements)."""
    return (-raw.ctypes.data % LINE) // 8


def _give_back(raw, size):
    """Keep ``raw`` for reuse; the longest-idle arrays make room for it past the limit."""
    global _idle_bytes
    try:
        with _lock:
            limit = _limit()
            if raw.nbytes > limit:
                return
            _idle.setdefault(size, []).append(raw)
            _order.append((size, raw))
            _idle_bytes += raw.nbytes
            while _idle_bytes > limit:
                old_size, old = _order.pop(0)
                free = _idle[old_size]
                del free[next(k for k, a in enumerate(free) if a is old)]
                _idle_bytes -= old.nbytes
    except Exception:   # interpreter shutdown: the memory is freed as usual
        pass


class _Owner:
    """The base of a pooled array: exposes the raw memory; returns it when it dies."""
    __slots__ = ("raw", "size", "__array_interface__", "__weakref__")

    def __init__(self, raw, shape, size):
        self.raw, self.size = raw, size
        self.__array_interface__ = {"shape": shape, "typestr": "<f8", "version": 3,
                                    "data": (raw.ctypes.data + 8 * _first_line(raw), False)}

    def __del__(self, give_back=_give_back):
        # bound at definition: an array still alive at interpreter exit can die after
        # this module's globals were cleared (seen once numba is imported)
        give_back(self.raw, self.size)


def empty(shape):
    """An uninitialized C-contiguous float64 array of ``shape`` (an int or a tuple) whose
    data starts on a 64-byte line, recycled from the pool when one of that size is idle."""
    global _idle_bytes
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(k) for k in shape)
    size = 1
    for k in shape:
        size *= k
    if size * 8 < MIN_BYTES:
        raw = np.empty(size + LINE // 8)
        skip = _first_line(raw)
        return raw[skip:skip + size].reshape(shape)
    raw = None
    with _lock:
        free = _idle.get(size)
        if free:
            raw = free.pop()
            _idle_bytes -= raw.nbytes
            for k, (_, a) in enumerate(_order):
                if a is raw:
                    del _order[k]
                    break
    if raw is None:
        raw = np.empty(size + LINE // 8)
    return np.asarray(_Owner(raw, shape, size))


def release():
    """Drop every idle array of the pool (its memory goes back to the allocator)."""
    global _idle_bytes
    with _lock:
        _idle.clear()
        _order.clear()
        _idle_bytes = 0


def idle_bytes():
    """Bytes the pool holds for reuse."""
    return _idle_bytes
