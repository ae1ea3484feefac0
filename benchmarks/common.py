"""Shared benchmark plumbing: one thread, float64, timing, peers, Markdown.

Importing this module pins every numeric library to ONE thread.  The
environment variables only take effect if they are set before numpy, torch
or jax are first imported, which is why ``benchmarks/__init__.py`` imports
this module before anything else.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import statistics
import time
from dataclasses import dataclass, field

# --- one core, one thread everywhere (before numpy / torch / jax import) -----
# XLA's CPU runtime sizes its thread pool from the CPU affinity mask and still
# runs loop fusions on several threads despite the XLA_FLAGS below, so the
# process is also pinned to one CPU (threads created later inherit the mask).
# BENCHMARKS_CPU=<n> picks the CPU, BENCHMARKS_CPU=all disables pinning (the
# two-thread probe runs in a subprocess with it).


def _least_busy_cpu(cpus, interval=0.2):
    """The allowed CPU with the most idle time over ``interval`` seconds."""
    def idle():
        with open("/proc/stat") as fh:
            rows = [ln.split() for ln in fh if ln.startswith("cpu") and ln[3].isdigit()]
        return {int(r[0][3:]): int(r[4]) + int(r[5]) for r in rows}
    try:
        before = idle()
        time.sleep(interval)
        after = idle()
        return max(cpus, key=lambda c: after.get(c, 0) - before.get(c, 0))
    except (OSError, ValueError, IndexError):
        return max(cpus)


PINNED_CPU = None
if hasattr(os, "sched_setaffinity"):
    if os.environ.get("BENCHMARKS_CPU", "") == "all":
        # undo a mask inherited from a pinned parent process
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    else:
        _cpu = os.environ.get("BENCHMARKS_CPU")
        PINNED_CPU = int(_cpu) if _cpu else _least_busy_cpu(sorted(os.sched_getaffinity(0)))
        os.sched_setaffinity(0, {PINNED_CPU})

# --- allocator: reuse freed memory instead of returning it to the kernel -----
# With glibc defaults, 8 MB result arrays are mmapped/trimmed and re-faulted on
# every call; on this VM a 4 KiB page fault costs ~2 us, which made the first
# implementation measured in a process up to 2.5x slower than the same code
# measured later.  Pinning the thresholds gives every implementation the same
# steady state: blocks up to 32 MB (glibc's maximum) come from the heap and the
# heap is not trimmed.  Larger single blocks are still mmapped per call.
# SYMDIFF_BENCH_MALLOC=default leaves glibc's defaults, as in a user's process (symdiff's
# own results then come from its pool, codegen/buffers.py; the peers pay the page faults).
MALLOC_PINNED = False
try:
    if os.environ.get("SYMDIFF_BENCH_MALLOC") == "default":
        raise OSError("malloc left at glibc's defaults")
    import ctypes
    _libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    MALLOC_PINNED = bool(_libc.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024)
                         and _libc.mallopt(M_TRIM_THRESHOLD, 2**30))
except (OSError, AttributeError):
    pass

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_ENABLE_X64", "1")
# symdiff's calls run compiled from the first one (no array tier while a kernel compiles in
# the background: codegen/tiers.py); the first-call benchmarks switch tiers back on.
os.environ.setdefault("SYMDIFF_TIERS", "off")

import numpy as np  # noqa: E402
import numba  # noqa: E402

numba.set_num_threads(1)

# --- peers -------------------------------------------------------------------
# name -> (import name, pip hint).  Peers are benchmark-only, never runtime deps.
PEERS = {
    "torch": ("torch", "pip install torch==2.13.0"),
    "jax": ("jax", "pip install jax jaxlib"),
    "casadi": ("casadi", "pip install casadi"),
    "micrograd": ("micrograd.engine", "pip install micrograd"),
    "sympy": ("sympy", "pip install sympy"),
    "scipy": ("scipy", "pip install scipy"),
}
SKIPPED: dict[str, str] = {}   # peer -> reason, filled by peer()
_LOADED: dict[str, object] = {}


def peer(name: str):
    """Import a peer configured for float64 / one thread, or None (noted)."""
    if name in _LOADED:
        return _LOADED[name]
    modname, hint = PEERS[name]
    try:
        mod = importlib.import_module(modname)
    except Exception as exc:  # ImportError, or a broken install
        SKIPPED[name] = f"not importable ({type(exc).__name__}: {exc}); {hint}"
        _LOADED[name] = None
        return None
    if name == "torch":
        mod.set_num_threads(1)
        try:
            mod.set_num_interop_threads(1)
        except RuntimeError:  # already set once in this process
            pass
        mod.set_default_dtype(mod.float64)
    elif name == "jax":
        mod.config.update("jax_enable_x64", True)
        mod.config.update("jax_platforms", "cpu")
    _LOADED[name] = mod
    return mod


def symdiff_api():
    """The symdiff module if its public ``differentiate`` exists, else None."""
    try:
        import symdiff
        symdiff.differentiate  # noqa: B018 - presence check
    except Exception as exc:
        SKIPPED["symdiff"] = (f"symdiff.differentiate not available yet "
                              f"({type(exc).__name__}: {exc})")
        return None
    return symdiff


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    for dist in ("numpy", "numba", "sympy", "symdiff-backprop", "torch",
                 "jax", "jaxlib", "casadi", "micrograd", "scipy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# --- timing ------------------------------------------------------------------
QUICK = False   # set by ``python -m benchmarks --quick``: fewer repeats (smoke run)


def set_quick(quick: bool = True) -> None:
    global QUICK
    QUICK = bool(quick)


@dataclass
class Timing:
    best: float      # seconds, wall clock (perf_counter)
    median: float    # seconds, wall clock
    cpu: float       # seconds, best process CPU time (process_time) of one call
    repeats: int


def timeit(fn, *, warmup: int = 1, min_repeats: int = 5, max_repeats: int = 50,
           budget: float = 1.0, max_time: float = 4.0) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then repeats with perf_counter
    (wall) and process_time (CPU of the whole process, i.e. of the one pinned
    core: robust against other tenants of a shared machine).

    Repeats at least ``min_repeats`` times and keeps going until ``budget``
    seconds of measured time or ``max_repeats`` calls; a slow ``fn`` stops
    early once ``max_time`` seconds are spent (at least 2 timed calls).  The
    caller makes ``fn`` synchronous (e.g. ``block_until_ready`` for JAX).
    """
    if QUICK:   # a smoke run: numbers are indicative only
        min_repeats, max_repeats = min(min_repeats, 2), min(max_repeats, 3)
        budget, max_time = min(budget, 0.1), min(max_time, 0.5)
    for _ in range(warmup):
        fn()
    times: list[float] = []
    cpu: list[float] = []
    while len(times) < max_repeats and (len(times) < min_repeats or sum(times) < budget):
        if len(times) >= 2 and sum(times) > max_time:
            break
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Timing(min(times), statistics.median(times), min(cpu), len(times))


# --- checking ----------------------------------------------------------------
class Mismatch(AssertionError):
    pass


def check_close(what: str, got, ref, rtol: float = 1e-9, atol: float = 0.0):
    """allclose with a useful message; ``atol`` is relative to max|ref|."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        got = np.broadcast_to(got, ref.shape) if got.size == 1 else got.reshape(ref.shape)
    scale = float(np.max(np.abs(ref))) if ref.size else 1.0
    if not np.allclose(got, ref, rtol=rtol, atol=atol * scale, equal_nan=False):
        err = np.abs(got - ref) / np.maximum(np.abs(ref), 1e-300)
        i = int(np.nanargmax(err))
        raise Mismatch(f"{what}: max rel err {np.nanmax(err):.3g} at flat index {i} "
                       f"(got {got.flat[i]!r}, want {ref.flat[i]!r})")


# --- results -----------------------------------------------------------------
@dataclass
class Row:
    bench: str
    impl: str
    best: float | None = None       # wall-clock best, in ``unit``
    unit: str = "ms"
    median: float | None = None     # wall-clock median, in ``unit``
    cpu: float | None = None        # best CPU time, in ``unit``
    ratio: float | None = None      # vs the bench's reference row
    note: str = ""

    @classmethod
    def timed(cls, bench, impl, t: Timing, *, scale=1e3, unit="ms", ref: Timing | None = None,
              by: str = "cpu", note=""):
        """Row from a Timing; ``ratio`` = t / ref on ``by`` ("cpu" or "best")."""
        ratio = None if ref is None else getattr(t, by) / getattr(ref, by)
        return cls(bench, impl, t.best * scale, unit, t.median * scale, t.cpu * scale,
                   ratio, note)


@dataclass
class Table:
    title: str
    ratio_label: str = "ratio (CPU) vs hand fused"
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart: bool = True     # draw its ratios in RESULTS.png (False: ratios of another kind)
    target: float | None = None   # a ratio to mark in the chart (e.g. the 2.5x gradient cost)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(f"  {row.bench:<24} {row.impl:<46} "
              + (f"{row.best:10.3f} {row.unit}" if row.best is not None else "          —")
              + (f" (cpu {row.cpu:.3f})" if row.cpu is not None else "")
              + (f"  x{row.ratio:.2f}" if row.ratio is not None else "")
              + (f"  [{row.note}]" if row.note else ""), flush=True)
        return row

    def markdown(self) -> str:
        def fmt(v, unit):
            if v is None:
                return "—"
            return (f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}") + f" {unit}"

        lines = [f"### {self.title}", "",
                 f"| benchmark | implementation | best CPU | best wall | median wall | "
                 f"{self.ratio_label} | note |",
                 "|---|---|---:|---:|---:|---:|---|"]
        for r in self.rows:
            lines.append(f"| {r.bench} | {r.impl} | {fmt(r.cpu, r.unit)} | {fmt(r.best, r.unit)} | "
                         f"{fmt(r.median, r.unit)} | "
                         f"{'' if r.ratio is None else f'{r.ratio:.2f}'} | {r.note} |")
        lines.append("")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def versions_markdown() -> str:
    v = versions()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    lines = ["### Environment", "",
             "One thread everywhere (numba.set_num_threads(1), torch.set_num_threads(1), "
             "XLA_FLAGS without Eigen multithreading, OMP/MKL/OPENBLAS_NUM_THREADS=1) and the "
             f"process pinned to CPU {PINNED_CPU} (XLA otherwise still runs fusions on several "
             "threads); float64 everywhere (jax_enable_x64). Times from time.perf_counter "
             "(wall) and time.process_time (CPU), warm-up call(s) excluded; ratios use the "
             "best CPU time, which other processes on a shared machine disturb far less than "
             f"wall time. glibc malloc thresholds pinned: {MALLOC_PINNED} (see common.py).", "",
             f"Load average when this table was written: "
             f"{', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}.", "",
             "| package | version |", "|---|---|"]
    lines += [f"| {k} | {val} |" for k, val in v.items()]
    if SKIPPED:
        lines += ["", "Skipped peers:", ""]
        lines += [f"- **{k}**: {why}" for k, why in SKIPPED.items()]
    return "\n".join(lines) + "\n"


def alternating(fns: dict, *, rounds: int = 8, budget: float = 0.25, **timeit_kw) -> dict:
    """Time several functions in alternating rounds (each round times every one of them, with
    ``timeit``), so that a slow phase of a shared machine falls on all of them alike; per
    function: the best over the rounds, the median of the rounds' medians, the best CPU."""
    per = {name: [] for name in fns}
    for _ in range(2 if QUICK else rounds):
        for name, fn in fns.items():
            per[name].append(timeit(fn, budget=budget, **timeit_kw))
    return {name: Timing(min(t.best for t in ts), statistics.median(t.median for t in ts),
                         min(t.cpu for t in ts), sum(t.repeats for t in ts))
            for name, ts in per.items()}


def timed_row(table: Table, bench: str, impl: str, t: Timing, *, ref: Timing | None = None,
              scale: float = 1e3, unit: str = "ms", note: str = "") -> Timing:
    """Add a row for a timing already taken (``alternating``)."""
    table.add(Row.timed(bench, impl, t, scale=scale, unit=unit, ref=ref, note=note))
    return t


def measured_row(table: Table, bench: str, impl: str, fn, *, ref: Timing | None = None,
                 scale: float = 1e3, unit: str = "ms", note: str = "", **timeit_kw) -> Timing:
    """Time ``fn`` and add a row; ratio is CPU time against ``ref`` if given."""
    t = timeit(fn, **timeit_kw)
    table.add(Row.timed(bench, impl, t, scale=scale, unit=unit, ref=ref, note=note))
    return t
