"""Stress: a 100,000-node formula, nesting 10,000 deep, a 1,000-statement program.

For each case, in a fresh subprocess with its own empty ``SYMDIFF_CACHE_DIR``:

1. parse + differentiate   ``d = symdiff.differentiate(text)``
2. source generation       ``d.source``
3. plain-Python first call ``d.python.value_and_grad(0.1, ...)`` -- what a Derivative's
                           scalar calls run (codegen/tiers.py; no Numba compile)
4. compiled scalar call   ``d.kernels.scalar(0.1, ...)`` -- compile + first call
5. compiled array call     ``d(x=np.full(1000, 0.1), ...)`` with SYMDIFF_TIERS=off (set by
                           benchmarks/common.py: calls compile first) -- compile of the loop
                           module (a separate module, so it compiles ``value_and_grad``
                           again) + first call
6. array call again        the same call, compiled: what a training loop pays per call

"Compiled" is the Derivative's default kernel (``kernel="auto"``): every stress case is
too big to inline, so it runs on the tape interpreter (codegen/tape.py), whose one compile
(a few seconds, once per cache directory) falls into phase 4. ``--kernel straight``
measures the straight-line Numba kernels instead (they do not finish for the big cases).

The child prints one JSON line per finished phase (wall time, CPU time, peak RSS from
``resource.getrusage``).  The parent kills the child when a phase runs longer than the
time limit (default 600 s, ``--stress-limit``) or its RSS exceeds a cap, and records
"gave up after N s"; the remaining phases then run in a new child (which parses again,
untimed in the table) so a hopeless scalar compile does not hide the array one.

    python -m benchmarks stress                     # all cases, about 3 minutes
    python -m benchmarks.bench_stress --quick       # tiny sizes, a smoke run
    python -m benchmarks.bench_stress --limit 120 --cases program
    python -m benchmarks.bench_stress --kernel straight --cases add
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LIMIT = 600.0             # seconds per phase
ARRAY_N = 1000
POINT = 0.1                       # every input's value in the scalar / array calls


# --- the formulas (built here, in the script) --------------------------------------------
def sum_of_products(terms: int) -> str:
    """``sin(1*x + y)*1 + sin(2*x + y)*2 + ...``: 6 graph nodes per term, + 1.

    Each term adds a constant ``i+1``, ``mul``, ``add``, ``sin``, ``mul`` (the weights
    ``i % 89 + 1`` are constants that already exist) and the ``add`` joining it to the sum;
    ``x``, ``y`` and the first term's missing join make the ``+ 1``.  Distinct constants
    keep the terms from being shared (the graph merges equal subexpressions).
    """
    return " + ".join(f"sin({i + 1}*x + y)*{i % 89 + 1}" for i in range(terms))


def sum_of_products_nodes(terms: int) -> int:
    return 6 * terms + 1


def terms_for_nodes(nodes: int) -> int:
    """The number of terms whose sum has at least ``nodes`` graph nodes."""
    return max(1, math.ceil((nodes - 1) / 6))


def nested_sin(depth: int) -> str:
    """``sin(sin(...sin(x)...))``: depth + 1 nodes."""
    return "sin(" * depth + "x" + ")" * depth


def nested_sin_nodes(depth: int) -> int:
    return depth + 1


def nested_add(depth: int) -> str:
    """``((x + 0.001) + 0.001) + ...``: depth + 2 nodes (x, the constant, the adds)."""
    return "(" * depth + "x" + " + 0.001)" * depth


def nested_add_nodes(depth: int) -> int:
    return depth + 2


def program(statements: int) -> str:
    """``s = x`` then ``s = s*0.999 + sin(s + k%7)*y`` for k < statements.

    5 nodes per statement (mul, add, sin, mul, add) + 10 (x, y, 0.999 and 0..6) once
    k has reached 6; ``s + 0`` stays an add.
    """
    return "s = x\n" + "\n".join(f"s = s*0.999 + sin(s + {k % 7})*y" for k in range(statements))


def program_nodes(statements: int) -> int:
    return 5 * statements + 3 + min(statements, 7)


@dataclass
class Case:
    key: str
    label: str                   # {n} is replaced by the size
    build: callable
    nodes: callable              # size -> expected graph nodes
    size: int
    quick_size: int

    def text(self, quick=False) -> str:
        return self.build(self.size_for(quick))

    def size_for(self, quick=False) -> int:
        return self.quick_size if quick else self.size

    def title(self, quick=False) -> str:
        return self.label.format(n=self.size_for(quick))


CASES = [
    Case("sum", "sum of {n:,} terms sin(k*x + y)*w", sum_of_products,
         sum_of_products_nodes, terms_for_nodes(100_000), terms_for_nodes(1_000)),
    Case("sin", "sin(sin(...(x)...)) {n:,} deep", nested_sin, nested_sin_nodes, 10_000, 100),
    Case("add", "((x + 0.001) + 0.001)... {n:,} deep", nested_add, nested_add_nodes, 10_000, 100),
    Case("program", "program of {n:,} statements", program, program_nodes, 1_000, 10),
]
CASE_BY_KEY = {c.key: c for c in CASES}

PHASES = [   # (key, column heading)
    ("differentiate", "parse + differentiate"),
    ("source", "d.source"),
    ("python", "plain-Python first scalar call"),
    ("scalar", "compiled scalar: compile + first call"),
    ("array", f"compiled array (N={ARRAY_N}): compile + first call"),
    ("again", f"array (N={ARRAY_N}) again"),
]
PHASE_TITLE = dict(PHASES)


# --- the child: one case, phases in order, one JSON line each -----------------------------
def _rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # KiB on Linux


def child(case_key: str, quick: bool, phases: list[str], hang: str | None = None,
          kernel: str = "auto") -> None:
    """Run ``differentiate`` then ``phases`` of one case; ``hang`` (tests only) sleeps in
    that phase instead of running it, to exercise the parent's time limit."""
    import numpy as np
    import numba  # noqa: F401  (imported before timing: not part of any phase)
    import symdiff
    import codegen.kernels  # noqa: F401

    def emit(**kw):
        print("@@" + json.dumps(kw), flush=True)

    emit(phase="ready", cpu_total=time.process_time(), rss_mb=_rss_mb())

    def timed(phase, fn):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return out, dict(phase=phase, wall=wall, cpu=cpu, rss_mb=_rss_mb(),
                         cpu_total=time.process_time())

    text = CASE_BY_KEY[case_key].text(quick)
    d, rec = timed("differentiate", lambda: symdiff.differentiate(text, kernel=kernel))
    rec.update(nodes=len(d.graph.nodes), kernel=d.kernels.kind,
               lines=len(d.program.forward) + len(d.program.backward),
               chars=len(text), inputs=list(d.inputs))
    emit(**rec)
    scalars = {k: POINT for k in d.inputs}
    plain = None
    for phase in phases:
        if phase == hang:
            time.sleep(3600)
        if phase == "source":
            src, rec = timed(phase, lambda: d.source)
            rec["source_lines"] = len(src.splitlines())
        elif phase == "python":
            out, rec = timed(phase, lambda: d.python.value_and_grad(*(scalars[k] for k in d.inputs)))
            rec["plain"] = not d.kernels.built()   # True: no kernel was built
            rec["value"] = plain = float(out[0])
        elif phase == "scalar":
            out, rec = timed(phase, lambda: d.kernels.scalar(*scalars.values()))
            rec["value"] = float(out[0])
            if plain is not None:
                rec["same_as_plain"] = float(out[0]) == plain
        elif phase in ("array", "again"):
            arrays = {k: np.full(ARRAY_N, POINT) for k in d.inputs}
            (v, _g), rec = timed(phase, lambda: d(**arrays))
            rec["value"] = float(v[0])
        else:
            raise SystemExit(f"unknown phase {phase!r}")
        emit(**rec)


# --- the parent: spawn, watch, kill -------------------------------------------------------
def _proc_status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _proc_cpu_s(pid: int) -> float | None:
    """utime + stime of a live process, from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def default_rss_cap_mb() -> float:
    """Half the machine's memory, at most 8 GB: other people's tests run here too."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    except (ValueError, OSError, AttributeError):
        total = 16 * 1024
    return min(total / 2, 8 * 1024)


@dataclass
class CaseResult:
    case: Case
    quick: bool
    phases: dict = field(default_factory=dict)    # phase -> record (dict) from the child
    gave_up: dict = field(default_factory=dict)   # phase -> {"after": s, "rss_mb": , "why":}
    errors: dict = field(default_factory=dict)    # phase -> message
    respawns: int = 0


def run_case(case: Case, *, quick=False, limit=DEFAULT_LIMIT, rss_cap_mb=None,
             python=sys.executable, log=print, hang: str | None = None,
             kernel: str = "auto") -> CaseResult:
    """Run every phase of ``case`` in fresh children; see the module docstring.
    ``hang`` (tests only): the child sleeps in that phase."""
    rss_cap_mb = rss_cap_mb or default_rss_cap_mb()
    result = CaseResult(case, quick)
    todo = [p for p, _ in PHASES if p != "differentiate"]
    first = True
    while first or todo:
        first_spawn = first
        first = False
        cache = tempfile.mkdtemp(prefix="symdiff-stress-cache-")
        env = dict(os.environ, SYMDIFF_CACHE_DIR=cache,
                   PYTHONPATH=os.pathsep.join(filter(None, [REPO_ROOT,
                                                            os.environ.get("PYTHONPATH")])))
        cmd = [python, "-m", "benchmarks.bench_stress", "--child", case.key,
               "--phases", ",".join(todo), "--kernel", kernel] + (["--quick"] if quick else []) + \
              (["--hang", hang] if hang else [])
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        err_tail: list[str] = []

        def read_stdout(stream=proc.stdout):
            for line in stream:
                lines.put(line)
            lines.put(None)               # EOF: the child exited

        def read_stderr(stream=proc.stderr):
            for line in stream:
                err_tail.append(line)
                del err_tail[:-40]

        for target in (read_stdout, read_stderr):
            threading.Thread(target=target, daemon=True).start()
        expected = ["differentiate"] + todo
        idx = 0
        records = []                      # this child's finished phases (for its CPU time)
        phase_start = time.perf_counter()
        killed = None
        try:
            while idx < len(expected):
                try:
                    line = lines.get(timeout=1.0)
                except queue.Empty:
                    line = ""
                if line is None:          # child's stdout closed: it exited
                    break
                if line.startswith("@@"):
                    rec = json.loads(line[2:])
                    records.append(rec)
                    phase = rec["phase"]
                    if phase == "ready":  # imports done: the first phase starts now
                        phase_start = time.perf_counter()
                        continue
                    if phase == "differentiate" and not first_spawn:
                        pass              # re-parse in a respawned child: not reported
                    else:
                        result.phases[phase] = rec
                        if phase in todo:
                            todo.remove(phase)
                        log(f"    {case.key:8} {phase:14} {rec['wall']:9.2f} s wall "
                            f"{rec['cpu']:9.2f} s cpu  peak RSS {rec['rss_mb']:8.0f} MB")
                    idx += 1
                    phase_start = time.perf_counter()
                    continue
                elapsed = time.perf_counter() - phase_start
                rss = (_proc_status_kb(proc.pid, "VmRSS") or 0) / 1024
                why = ("time limit" if elapsed > limit else
                       "RSS cap" if rss > rss_cap_mb else None)
                if why:
                    killed = (expected[idx], elapsed, why)
                    break
        finally:
            hwm = (_proc_status_kb(proc.pid, "VmHWM") or 0) / 1024
            cpu_total = _proc_cpu_s(proc.pid)
            if proc.poll() is None:
                proc.kill()               # our own child, by its handle
            proc.wait()
            shutil.rmtree(cache, ignore_errors=True)
        if killed:
            phase, elapsed, why = killed
            done_cpu = records[-1]["cpu_total"] if records else 0.0
            cpu = None if cpu_total is None else max(0.0, cpu_total - done_cpu)
            result.gave_up[phase] = dict(after=elapsed, cpu=cpu, rss_mb=hwm, why=why)
            log(f"    {case.key:8} {phase:14} gave up after {elapsed:.0f} s ({why}; "
                f"~{cpu or 0:.0f} s cpu in the phase; peak RSS {hwm:.0f} MB)")
            if phase == "differentiate":
                for p in todo:
                    result.errors[p] = "not run: parse + differentiate gave up"
                todo = []
            else:
                todo.remove(phase)
                result.respawns += 1
        elif idx < len(expected):         # the child died or failed
            phase = expected[idx]
            msg = (err_tail[-1].strip() if err_tail else f"exit code {proc.returncode}")[:300]
            result.errors[phase] = f"FAILED (exit {proc.returncode}): {msg}"
            log(f"    {case.key:8} {phase:14} FAILED: {msg}")
            if phase == "differentiate":
                for p in todo:
                    result.errors[p] = "not run: parse + differentiate failed"
                todo = []
            else:
                todo.remove(phase)
                result.respawns += 1
    return result


# --- Markdown ------------------------------------------------------------------------------
def _secs(v: float) -> str:
    return f"{v:.3g} s" if v < 100 else f"{v:.0f} s"


def _mb(v: float) -> str:
    return f"{v / 1024:.2f} GB" if v >= 1024 else f"{v:.0f} MB"


BUDGET_SECONDS = 30.0   # all phases of one case, wall clock (the README's documented budget)
BUDGET_RSS_MB = 1024.0  # peak RSS of the child


def budget(r: CaseResult) -> str:
    """'met (total s)' when every phase ran and the case stayed within both budgets."""
    if r.gave_up or r.errors or len(r.phases) < len(PHASES):
        return "**missed**"
    total = sum(rec["wall"] for rec in r.phases.values())
    peak = max(rec["rss_mb"] for rec in r.phases.values())
    ok = total <= BUDGET_SECONDS and peak <= BUDGET_RSS_MB
    return f"{'met' if ok else '**missed**'} ({total:.1f} s)"


@dataclass
class StressTable:
    """Duck-types ``common.Table`` for ``__main__``: ``title``, ``markdown()``."""
    title: str
    results: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart = False

    def cell(self, r: CaseResult, phase: str) -> str:
        if phase in r.phases:
            rec = r.phases[phase]
            text = f"{_secs(rec['wall'])} (cpu {_secs(rec['cpu'])})"
            if phase == "python" and not rec.get("plain", True):
                text += " (ran the Numba kernel!)"
            if phase == "scalar" and rec.get("same_as_plain") is False:
                text += " (differs from plain Python!)"
            return text
        if phase in r.gave_up:
            g = r.gave_up[phase]
            cpu = "" if g.get("cpu") is None else f", cpu {_secs(g['cpu'])}"
            return f"**gave up after {g['after']:.0f} s** ({g['why']}{cpu}, RSS {_mb(g['rss_mb'])})"
        return r.errors.get(phase, "—")

    def markdown(self) -> str:
        heads = ["case", "graph nodes", "program lines", "source lines", "kernel"] + \
                [h for _, h in PHASES] + ["peak RSS", f"budget ({BUDGET_SECONDS:.0f} s, {_mb(BUDGET_RSS_MB)})"]
        lines = [f"### {self.title}", "", "| " + " | ".join(heads) + " |",
                 "|---|" + "---:|" * (len(heads) - 1)]
        for r in self.results:
            d = r.phases.get("differentiate", {})
            src = r.phases.get("source", {})
            peak = max([rec["rss_mb"] for rec in r.phases.values()] +
                       [g["rss_mb"] for g in r.gave_up.values()] or [0.0])
            lines.append("| " + " | ".join(
                [r.case.title(r.quick),
                 f"{d['nodes']:,}" if d else "—",
                 f"{d['lines']:,}" if d else "—",
                 f"{src['source_lines']:,}" if src else "—",
                 d.get("kernel", "—")]
                + [self.cell(r, p) for p, _ in PHASES] + [_mb(peak) if peak else "—", budget(r)]) + " |")
        lines.append("")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def main(quick: bool = False, limit: float = DEFAULT_LIMIT, cases=None,
         rss_cap_mb: float | None = None, kernel: str = "auto") -> list[StressTable]:
    rss_cap_mb = rss_cap_mb or default_rss_cap_mb()
    chosen = [CASE_BY_KEY[k] for k in cases] if cases else CASES
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    table = StressTable("Stress: parse, source and compile budgets"
                        + (" (--quick sizes)" if quick else "")
                        + (f" (kernel={kernel})" if kernel != "auto" else ""))
    for case in chosen:
        print(f"[stress] {case.title(quick)}", flush=True)
        table.results.append(run_case(case, quick=quick, limit=limit, rss_cap_mb=rss_cap_mb,
                                      kernel=kernel))
    load1 = os.getloadavg() if hasattr(os, "getloadavg") else None
    fmt = (lambda la: ", ".join(f"{x:.2f}" for x in la) if la else "n/a")
    table.notes += [
        f"Each case in a fresh subprocess with an empty SYMDIFF_CACHE_DIR; per-phase limit "
        f"{limit:.0f} s, RSS cap {_mb(rss_cap_mb)}. Time = wall clock (CPU time of the child "
        "in parentheses; the machine is shared, CPU time is the steadier number).",
        "Phases run in order in one child: `symdiff.differentiate(text)`; `d.source`; the "
        "first scalar call `d(x=0.1, ...)`, which runs the generated module as plain Python "
        "(no compile); `d.kernels.scalar(0.1, ...)` (compile + call); "
        f"`d(x=np.full({ARRAY_N}, 0.1), ...)` (compile of the array loop + call), then the "
        "same array call again.",
        "kernel = what `differentiate(text)` chose (`kernel=\"auto\"`): `straight` compiles "
        "the program's own lines with Numba; `tape` runs them on codegen/tape.py's "
        "interpreter, compiled once per cache directory (each child starts with an empty "
        "cache, so that one compile, a few seconds, is inside the compiled scalar phase) "
        "and nothing per formula: the phase times are lowering the program to a tape + "
        "running it.",
        f"budget: the documented budget for every stress case: all phases together within "
        f"{BUDGET_SECONDS:.0f} s wall and {_mb(BUDGET_RSS_MB)} peak RSS, on this 2-core machine, "
        "including the one-time tape interpreter compile.",
        "When a phase gives up, the child is killed (peak RSS read from /proc VmHWM first) "
        "and the remaining phases run in a new child with a new empty cache.",
        "The sum uses a distinct constant k = 1, 2, ... per term (`sin(k*x + y)*(k % 89 + 1)`): "
        "the graph merges equal subexpressions, so `k % 97` would repeat terms and give far "
        "fewer than 100,000 nodes.",
        "peak RSS = the child's `resource.getrusage(RUSAGE_SELF).ru_maxrss` after its last "
        "phase (includes numpy, Numba and LLVM, ~150 MB before any work).",
        "program lines = `len(d.program.forward) + len(d.program.backward)`; source lines = "
        "lines of `d.source` (with comments and docstring).",
        f"Load average at start {fmt(load0)}, at end {fmt(load1)}; total "
        f"{time.perf_counter() - t0:.0f} s ({time.strftime('%Y-%m-%d %H:%M')}).",
    ]
    for r in table.results:
        for p, rec in r.phases.items():
            if p == "python" and not rec.get("plain", True):
                table.notes.append(f"{r.case.title(quick)}: the first scalar call did not run "
                                   "as plain Python (it fell back to the Numba kernel).")
    tables = [table]
    straight = [c for c in chosen if c.key in STRAIGHT_CASES]
    if kernel == "auto" and straight:
        tables.append(straight_table(straight, quick, limit, rss_cap_mb))
    return tables


STRAIGHT_CASES = ("add", "program")   # the cases whose straight-line kernels finish at all


def straight_table(cases, quick, limit, rss_cap_mb) -> StressTable:
    """The same cases with ``kernel="straight"``: what the tape saves."""
    table = StressTable("For comparison: straight-line Numba kernels (kernel=\"straight\")"
                        + (" (--quick sizes)" if quick else ""))
    for case in cases:
        print(f"[stress, straight] {case.title(quick)}", flush=True)
        table.results.append(run_case(case, quick=quick, limit=limit, rss_cap_mb=rss_cap_mb,
                                      kernel="straight"))
    table.notes.append(
        "Only the cases whose straight kernels finish; the 100,000-node sum and 10,000 "
        "nested sin are not run here: when last measured (2026-11-22, before the tape), "
        "Numba's compile of their straight kernels ran out of the 600 s limit / 8 GB cap "
        "(`python -m benchmarks.bench_stress --kernel straight --cases sum,sin` repeats it). "
        "Straight kernels of this size are not inlined, so their loops call vmath's "
        "functions and do not vectorize; compare the 'again' column with the table above.")
    return table


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_stress")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    p.add_argument("--limit", type=float, default=DEFAULT_LIMIT,
                   help="seconds per phase before the child is killed (default 600)")
    p.add_argument("--rss-cap-gb", type=float, default=None,
                   help="kill a child above this RSS (default: half the RAM, at most 8)")
    p.add_argument("--cases", default=None,
                   help="comma-separated subset of " + ",".join(CASE_BY_KEY))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--phases", default="", help=argparse.SUPPRESS)
    p.add_argument("--hang", default=None, help=argparse.SUPPRESS)
    p.add_argument("--kernel", default="auto", choices=("auto", "straight", "tape"),
                   help="the Derivative's kernel (default auto: what users get)")
    return p.parse_args(argv)


if __name__ == "__main__":
    args = _parse(sys.argv[1:])
    if args.child:
        child(args.child, args.quick, [p for p in args.phases.split(",") if p], args.hang,
              args.kernel)
        sys.exit()
    from .common import versions_markdown
    tables = main(args.quick, args.limit, args.cases.split(",") if args.cases else None,
                  args.rss_cap_gb * 1024 if args.rss_cap_gb else None, args.kernel)
    print()
    for t in tables:
        print(t.markdown())
    print(versions_markdown())
