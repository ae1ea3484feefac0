"""Fused reductions: the sum of a formula (and of its gradients) over many points, in
one pass, without per-point arrays for what is summed.

Summation is **blocked, then pairwise**, with an error bound no worse than ``np.sum``'s.
The points are cut into chunks of ``CHUNK`` = 2048; inside a chunk, 128 lane accumulators
each add up to 16 values in order (lane j takes points j, j+128, j+256, ...); the 128
lanes are then added pairwise (``lane_sum``: 64 pairs, 32, ..., 1), and the chunk sums are
added pairwise, bottom-up (``pairwise``). A term passes through at most 16 + 7 +
log2(N/2048) additions, i.e. log2(N) + 12, the same as in NumPy's pairwise sum (eight
accumulators over 128-point leaves, then halving): the bound is O(eps (log2 N + 12)) times
the sum of the absolute values. The lanes are independent, so the compute loop
vectorizes with the sum fused in. The result does not depend on the number of threads:
each chunk is summed in a fixed order, threads only decide who computes which chunk.

Straight kernels get a generated module: the program's ``value_and_grad`` (inlined, so
the loops vectorize like the elementwise loops) and ``grad_reduce_loop``/
``value_reduce_loop`` with their ``prange`` twins ``*_ploop``. Chunks are shared out over
the threads, each with its own lane accumulators (a row of ``scratch``). Gradients with
respect to array inputs are not summed: they are written per point, as ``d(...)`` writes
them.

Tape kernels (big programs) run the shared interpreter over ``TAPE_CHUNK`` points at a
time and sum its result rows with the same arithmetic (``chunk_sums``): the same bits as
the straight kernel.
"""
import functools

import numpy as np

from . import buffers
from .codenames import for_code
from .compiled import OPTIONS, Compiled
from .kernels import PARALLEL_MIN, inline_policy, module_source
from .printer import helpers_used

LANES = 128               # lane accumulators per chunk (a power of two)
CHUNK = 16 * LANES        # points per chunk: each lane adds 16 values in order
TAPE_CHUNK = 32 * CHUNK   # points per tape run when reducing on the tape

LANE_SUM = f'''def lane_sum(v):
    """v[0] + ... + v[{LANES - 1}] added pairwise (64 pairs, then 32, ..., then 1); v is overwritten."""
    w = {LANES // 2}
    while w >= 1:
        for j in range(w):
            v[j] = v[j] + v[j + w]
        w //= 2
    return v[0]
'''


def _fresh(base, used):
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def reduce_source(program, mask, kind, loop):
    """``grad_reduce_loop``/``value_reduce_loop`` or their prange twins (``*_ploop``) for
    one array mask: leaf sums of the value and of the gradients with respect to scalar
    inputs go to ``partials`` (one row per leaf); gradients with respect to array inputs
    are written per point."""
    used = set(program.inputs) | {"lane_sum", "value", "value_and_grad", "np", "math", "prange"}
    n, t, start, stop, b0, m, j, partials = (
        _fresh(x, used) for x in ("n", "t", "start", "stop", "b0", "m", "j", "partials"))
    is_array = dict(zip(program.inputs, mask))
    names = [program.output] + (list(program.grads) if kind == "grad" else [])
    wrt = [None] + (list(program.wrt) if kind == "grad" else [])
    results = [_fresh(r, used) for r in names]
    summed = [r for r, w in zip(results, wrt) if w is None or not is_array[w]]
    per_point = [(r, _fresh(f"{g}_out", used)) for r, g, w in zip(results, names, wrt)
                 if w is not None and is_array[w]]
    call = "value_and_grad" if kind == "grad" else "value"
    rng = "prange" if loop == "ploop" else "range"
    c, scratch = _fresh("c", used), _fresh("scratch", used)
    lanes = [_fresh(f"{r}_lanes", used) for r in summed]
    views = {x: _fresh(f"{x}_leaf", used) for x in program.inputs if is_array[x]}
    views.update({o: _fresh(f"{o}_leaf", used) for _, o in per_point})
    args = ", ".join(f"{views[x]}[{j}]" if is_array[x] else x for x in program.inputs)
    params = list(program.inputs) + [o for _, o in per_point] + [partials, scratch, n]
    lines = [f"def {kind}_reduce_{loop}({', '.join(params)}):",
             f'    """Sums of {", ".join(summed)} over each chunk of {CHUNK} points (of {n}) into '
             f'{partials}'
             + (f";\n    {', '.join(o for _, o in per_point)} per point" if per_point else "")
             + f'. Lane j of a chunk adds points j, j+{LANES}, ...\n    in order; the '
             f'lanes are then added pairwise. Each thread has its own lanes, {scratch}[{t}]."""',
             f"    for {t} in {rng}({scratch}.shape[0]):"]
    lines += [f"        {ln} = {scratch}[{t}, {k_}]" for k_, ln in enumerate(lanes)]
    lines += [f"        for {c} in range({t}, ({n} + {CHUNK - 1}) // {CHUNK}, {scratch}.shape[0]):",
              f"            {start} = {c}*{CHUNK}",
              f"            {stop} = min({start} + {CHUNK}, {n})",
              f"            for {j} in range({LANES}):"]
    lines += [f"                {ln}[{j}] = 0.0" for ln in lanes]
    lines += [f"            for {b0} in range({start}, {stop}, {LANES}):",
              f"                {m} = min({LANES}, {stop} - {b0})"]
    lines += [f"                {v} = {x}[{b0}:{b0} + {m}]" for x, v in views.items()]
    lines += [f"                for {j} in range({m}):",
              f"                    {', '.join(results)}{',' if len(results) == 1 and kind == 'grad' else ''} = {call}({args})"]
    lines += [f"                    {ln}[{j}] += {r}" for ln, r in zip(lanes, summed)]
    lines += [f"                    {views[o]}[{j}] = {r}" for r, o in per_point]
    lines += [f"            {partials}[{c}, {k_}] = lane_sum({ln})" for k_, ln in enumerate(lanes)]
    return "\n".join(lines) + "\n"


def reduce_module_source(program, mask):
    program = for_code(program)    # inputs named like generated code (lane_sum) renamed
    parts = [module_source(program), f"# reductions for: "
             + ", ".join(f"{x}={'array' if a else 'scalar'}" for x, a in zip(program.inputs, mask)) + "\n",
             LANE_SUM]
    for kind in ("grad", "value"):
        for loop in ("loop", "ploop"):
            parts.append(reduce_source(program, mask, kind, loop))
    return "\n\n".join(parts)


def compiled_reduction(program, mask):
    """The compiled reduction module for one array mask (Numba compiles each function on
    its first call; the module and Numba's code are cached on disk)."""
    inline = inline_policy(program)
    names = helpers_used(program) + ["value", "value_and_grad", "lane_sum"]
    loops = [f"{k}_reduce_{l}" for k in ("grad", "value") for l in ("loop", "ploop")]
    return Compiled(reduce_module_source(program, mask), names + loops, names if inline else (), inline)


@functools.lru_cache(maxsize=None)
def _jit():
    import numba
    return numba.njit(**OPTIONS)


def _pairwise(P):
    """Column sums of P (leaves x results), adding neighbours pairwise, bottom-up, in place."""
    n = P.shape[0]
    out = np.zeros(P.shape[1])
    if n == 0:
        return out
    while n > 1:
        half = n // 2
        for r in range(half):
            for k in range(P.shape[1]):
                P[r, k] = P[2 * r, k] + P[2 * r + 1, k]
        if n % 2:
            for k in range(P.shape[1]):
                P[half, k] = P[n - 1, k]
        n = half + n % 2
    for k in range(P.shape[1]):
        out[k] = P[0, k]
    return out


def _chunk_sums(R, rows, P, first):
    """The straight kernel's sums, computed the same way, of the rows R[rows[k]] (a tape's
    results): chunk c of R goes to P[first + c, k]."""
    size = R.shape[1]
    lanes = np.empty(LANES)
    for c in range((size + CHUNK - 1) // CHUNK):
        start = c * CHUNK
        stop = min(start + CHUNK, size)
        for k in range(rows.shape[0]):
            row = R[rows[k]]
            lanes[:] = 0.0
            for b0 in range(start, stop, LANES):
                m = min(LANES, stop - b0)
                for j in range(m):
                    lanes[j] += row[b0 + j]
            w = LANES // 2
            while w >= 1:
                for j in range(w):
                    lanes[j] = lanes[j] + lanes[j + w]
                w //= 2
            P[first + c, k] = lanes[0]


_compiled = {}


def helper(name):
    """pairwise / chunk_sums, compiled once per process (cached on disk by Numba)."""
    fn = _compiled.get(name)
    if fn is None:
        fn = _compiled[name] = _jit()({"pairwise": _pairwise, "chunk_sums": _chunk_sums}[name])
    return fn


def pairwise(P):
    return helper("pairwise")(P)


def chunks(size):
    return (size + CHUNK - 1) // CHUNK


def run_straight(compiled, args, per_point, n_summed, size, grad, parallel=None):
    """Sums (a 1-D array: value, then the summed gradients) and fill per_point arrays."""
    import numba
    if parallel is None:
        parallel = size >= PARALLEL_MIN and numba.get_num_threads() > 1
    P = np.empty((chunks(size), n_summed))
    threads = min(numba.get_num_threads(), chunks(size)) if parallel else 1
    # lanes on 64-byte lines: malloc's 16-byte offset splits every zmm load and store of
    # them across two cache lines (the neuron's fused sum: 47 against 40 cycles per 8 points)
    scratch = buffers.empty((threads, n_summed, LANES))
    name = ("grad" if grad else "value") + ("_reduce_ploop" if parallel else "_reduce_loop")
    compiled(name, *args, *per_point, P, scratch, size)
    return pairwise(P)


def run_tape(kernels, args, mask, summed_rows, point_rows, per_point, size, grad):
    """The same sums on the tape: TAPE_CHUNK points at a time run by the shared
    interpreter, then summed chunk by chunk as the straight kernel sums them."""
    rows = np.asarray(summed_rows, dtype=np.int64)
    P = np.empty((chunks(size), len(summed_rows)))
    chunk_sums = helper("chunk_sums")
    for start in range(0, size, TAPE_CHUNK):
        m = min(TAPE_CHUNK, size - start)
        X = np.empty((len(args), m))
        for k, (a, is_array) in enumerate(zip(args, mask)):
            X[k] = a[start:start + m] if is_array else a
        R = kernels.run_tape(X, grad)
        chunk_sums(R, rows, P, start // CHUNK)
        for row, out in zip(point_rows, per_point):
            out[start:start + m] = R[row]
    return pairwise(P)
