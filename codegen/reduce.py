"""Fused reductions: the sum of a formula (and of its gradients) over many points, in
one pass, without per-point arrays for what is summed.

Summation is **blocked, then pairwise**, with an error bound no worse than ``np.sum``'s.
The points are cut into chunks of ``CHUNK`` = 2048, a chunk into 16 blocks of ``BLOCK`` =
128. Inside a block, ``LANES`` = 8 lane accumulators each add up to 16 values in order
(lane j takes points j, j+8, ..., j+120 of the block); the 8 lanes are then added
pairwise (``pairwise_sum``: 4 neighbour pairs, 2, 1), the chunk's block sums pairwise
(16 -> 8 -> 4 -> 2 -> 1, an odd last one carried up), and the chunk sums pairwise,
bottom-up (``pairwise``). A term passes through at most 16 + 3 + 4 + log2(N/2048)
additions, i.e. log2(N) + 12, the same as in NumPy's pairwise sum (eight accumulators
over 128-point leaves, then halving): the bound is O(eps (log2 N + 12)) times the sum of
the absolute values. The lanes are independent, so the compute loop vectorizes with the
sum fused in; they are arrays on the stack (``local_zeros``, ``codegen.local_arrays``),
which LLVM keeps in vector registers for a whole block. The result does not depend on
the number of threads: each chunk is summed in a fixed order, threads only decide who
computes which chunk.

Straight kernels get a generated module: the program's ``value_and_grad`` (inlined, so
the loops vectorize like the elementwise loops) and ``grad_reduce_loop``/
``value_reduce_loop`` with their ``prange`` twins ``*_ploop``. Thread t takes chunks t,
t + threads, ... Gradients with respect to array inputs are not summed: they are written
per point, as ``d(...)`` writes them.

Tape kernels (big programs) run the shared interpreter over ``TAPE_CHUNK`` points at a
time and sum its result rows with the same arithmetic (``chunk_sums``): the same bits as
the straight kernel.
"""
import functools

import numpy as np

from .codenames import for_code
from .compiled import OPTIONS, Compiled
from .kernels import PARALLEL_MIN, inline_policy, module_source
from .printer import helpers_used
from symdiff.functions import OPS

LANES = 16                 # lane accumulators per block: one zmm register (two ymm) per sum
BLOCK = 16 * LANES        # points per block: each lane adds 16 values in order
BLOCKS = 8               # blocks per chunk
CHUNK = BLOCKS * BLOCK    # points per chunk (one row of partial sums)
TAPE_CHUNK = 32 * CHUNK   # points per tape run when reducing on the tape

_LANE_LEVELS = "".join(f"    for j in range({w}):\n        v[j] = v[j] + v[j + {w}]\n"
                       for w in (LANES >> k for k in range(1, LANES.bit_length() - 1)))
HELPERS = f'''def local_zeros(n):
    """n zeros (compiled: an array on the stack, which LLVM keeps in registers)."""
    return np.zeros(n)


def lane_sum(v):
    """v[0] + ... + v[{LANES - 1}] added pairwise, halves first: v[j] + v[j + {LANES // 2}], then
    v[j] + v[j + {LANES // 4}], ...; v is overwritten (compiled: the same additions on vector
    registers, codegen.local_arrays.lane_sum)."""
{_LANE_LEVELS}    return v[0] + v[1]


def pairwise_sum(v, n):
    """v[0] + ... + v[n - 1] added pairwise: neighbours, then their sums, ... (an odd last
    one is carried up); v is overwritten."""
    while n > 1:
        half = n // 2
        for r in range(half):
            v[r] = v[2*r] + v[2*r + 1]
        if n % 2:
            v[half] = v[n - 1]
        n = half + n % 2
    return v[0]
'''


def _fresh(base, used):
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


ROW_WORK = 24   # vector operations a pass must hold (see rows_per_pass)
CALL_WORK = 20  # ... counted for a call of a vmath function (exp, sigmoid, ...)


def rows_per_pass(program, mask, kind):
    """Rows of lanes each pass of the compute loop adds (1, 2, 4 or 8; the same sums in the
    same order whatever the number). LLVM unrolls a loop of LANES iterations whole when
    its body is small, before its vectorizer sees it, and the unrolled copies then fail to
    vectorize (the neuron's value-only sum of a*x ran 2x slower than before the lanes were
    registers). A pass of a few rows is big enough to stay a loop: this estimate of the
    vector operations in one point's work (each operation 1, a vmath call CALL_WORK, each
    load, store and lane update 1) decides how many rows a pass needs to hold ROW_WORK."""
    is_array = dict(zip(program.inputs, mask))
    lines = program.forward + (program.backward if kind == "grad" else ())
    work = sum(CALL_WORK if e.op == "call" and OPS[e.args[0]].vmath else 1
               for line in lines for e in line.expr.walk()
               if e.op not in ("var", "num", "gt", "ge", "lt", "le", "eq"))
    work += 1 + (len(program.wrt) if kind == "grad" else 0) + sum(mask)
    rows = 1
    while rows < 8 and rows * work < ROW_WORK:
        rows *= 2
    return rows


def reduce_source(program, mask, kind, loop, inline=True):
    """``grad_reduce_loop``/``value_reduce_loop`` or their prange twins (``*_ploop``) for
    one array mask: chunk sums of the value and of the gradients with respect to scalar
    inputs go to ``partials`` (one row per chunk); gradients with respect to array inputs
    are written per point. ``inline``: whether Numba inlines the program's function (then
    the last points of a partial block call its non-inlined copy, ``*_at``, compiled once
    for the module)."""
    used = set(program.inputs) | {"local_zeros", "lane_sum", "pairwise_sum", "value", "value_and_grad",
                                  "value_at", "value_and_grad_at", "np", "math", "prange", "min"}
    n, t, threads, start, blocks, k, b0, m, i, j, p, partials = (
        _fresh(x, used) for x in ("n", "t", "threads", "start", "blocks", "k", "b0", "m", "i", "j",
                                  "p", "partials"))
    is_array = dict(zip(program.inputs, mask))
    names = [program.output] + (list(program.grads) if kind == "grad" else [])
    wrt = [None] + (list(program.wrt) if kind == "grad" else [])
    results = [_fresh(r, used) for r in names]
    summed = [r for r, w in zip(results, wrt) if w is None or not is_array[w]]
    per_point = [(r, _fresh(f"{g}_out", used)) for r, g, w in zip(results, names, wrt)
                 if w is not None and is_array[w]]
    call = "value_and_grad" if kind == "grad" else "value"
    rng = "prange" if loop == "ploop" else "range"
    c = _fresh("c", used)
    lanes = [_fresh(f"{r}_lanes", used) for r in summed]
    sums = [_fresh(f"{r}_blocks", used) for r in summed]
    views = {x: _fresh(f"{x}_leaf", used) for x in program.inputs if is_array[x]}
    views.update({o: _fresh(f"{o}_leaf", used) for _, o in per_point})
    params = list(program.inputs) + [o for _, o in per_point] + [partials, threads, n]
    rows = rows_per_pass(program, mask, kind)
    row_results = [results] + [[_fresh(f"{r}_{q + 1}", used) for r in names] for q in range(1, rows)]

    def call_at(fn, at, outs, pad):
        """One point's call at index ``at`` (results ``outs``) and its per-point stores."""
        args = ", ".join(f"{views[x]}[{at}]" if is_array[x] else x for x in program.inputs)
        got = dict(zip(results, outs))
        return ([f"{pad}{', '.join(outs)}{',' if len(outs) == 1 and kind == 'grad' else ''} = {fn}({args})"]
                + [f"{pad}{views[o]}[{at}] = {got[r]}" for r, o in per_point])

    pad = " " * 24
    compute = []
    for q, outs in enumerate(row_results):   # one pass: rows points a row of lanes apart
        compute += call_at(call, f"{b0} + {rows * LANES}*{i} + " + (f"{q * LANES} + " if q else "") + j,
                           outs, pad)
    for ln, r in zip(lanes, summed):         # ... added to their lane in order
        at = results.index(r)
        compute.append(f"{pad}{ln}[{j}] = {ln}[{j}] + " + " + ".join(outs[at] for outs in row_results)
                       if rows > 1 else f"{pad}{ln}[{j}] += {r}")
    rest = call_at(call + ("_at" if inline else ""), p, results, " " * 20)
    rest += [f"                    {ln}[{p} % {LANES}] += {r}" for ln, r in zip(lanes, summed)]

    per = f"{rows} rows of lanes" if rows > 1 else "a row of lanes"
    lines = [f"def {kind}_reduce_{loop}({', '.join(params)}):",
             f'    """Sums of {", ".join(summed)} over each chunk of {CHUNK} points (of {n}) into '
             f'{partials}'
             + (f";\n    {', '.join(o for _, o in per_point)} per point" if per_point else "")
             + f".\n    A chunk is {BLOCKS} blocks of {BLOCK} points. In a block, lane {j} (of {LANES}) adds "
             f"points {j}, {j}+{LANES}, ...\n    in order, {per} per pass; the lanes are then added "
             f"pairwise, and the chunk's\n    block sums pairwise. Thread {t} takes chunks {t}, {t} + "
             f'{threads}, ..."""',
             f"    for {t} in {rng}({threads}):",
             f"        for {c} in range({t}, ({n} + {CHUNK - 1}) // {CHUNK}, {threads}):",
             f"            {start} = {c}*{CHUNK}",
             f"            {blocks} = (min({start} + {CHUNK}, {n}) - {start} + {BLOCK - 1}) // {BLOCK}"]
    lines += [f"            {s_} = local_zeros({BLOCKS})" for s_ in sums]
    lines += [f"            {v} = {x}[{start}:{start} + {CHUNK}]" for x, v in views.items()]
    lines += [f"            for {k} in range({blocks}):",
              f"                {b0} = {k}*{BLOCK}",
              f"                {m} = min({BLOCK}, {n} - {start} - {b0})"]
    lines += [f"                {ln} = local_zeros({LANES})" for ln in lanes]
    lines += [f"                for {i} in range({m} // {rows * LANES}):",
              f"                    for {j} in range({LANES}):"]
    lines += compute
    lines += [f"                for {p} in range({b0} + {m} - {m} % {rows * LANES}, {b0} + {m}):"
              f"   # the last block's last points"]
    lines += rest
    lines += [f"                {s_}[{k}] = lane_sum({ln})" for s_, ln in zip(sums, lanes)]
    lines += [f"            {partials}[{c}, {k_}] = pairwise_sum({s_}, {blocks})" for k_, s_ in enumerate(sums)]
    return "\n".join(lines) + "\n"


def reduce_module_source(program, mask):
    program = for_code(program)    # inputs named like generated code (pairwise_sum) renamed
    inline = inline_policy(program)
    parts = [module_source(program), f"# reductions for: "
             + ", ".join(f"{x}={'array' if a else 'scalar'}" for x, a in zip(program.inputs, mask)) + "\n",
             HELPERS]
    if inline:
        parts.append(_called_copies(program))
    for kind in ("grad", "value"):
        for loop in ("loop", "ploop"):
            parts.append(reduce_source(program, mask, kind, loop, inline))
    return "\n\n".join(parts)


def _called_copies(program):
    """``value_at``/``value_and_grad_at``: the program's functions behind a call that Numba
    does not inline (the loops inline ``value``/``value_and_grad`` into their vectorized
    passes; a second inlined copy for a block's last points would double the compile)."""
    args = ", ".join(program.inputs)
    return "\n\n".join(f'''def {fn}_at({args}):
    """{fn}, for the last points of a partial block: a call, not inlined."""
    return {fn}({args})
''' for fn in ("value", "value_and_grad"))


def compiled_reduction(program, mask):
    """The compiled reduction module for one array mask (Numba compiles each function on
    its first call; the module and Numba's code are cached on disk)."""
    from . import local_arrays
    inline = inline_policy(program)
    names = helpers_used(program) + ["value", "value_and_grad", "pairwise_sum"]
    copies = ["value_at", "value_and_grad_at"] if inline else []
    loops = [f"{k}_reduce_{l}" for k in ("grad", "value") for l in ("loop", "ploop")]
    bound = {"local_zeros": local_arrays.local_zeros, "lane_sum": local_arrays.lane_sum(LANES)}
    return Compiled(reduce_module_source(program, mask), names + copies + loops, names if inline else (),
                    inline, bound)


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
    results): chunk c of R goes to P[first + c, k]. A chunk's block sums are added by
    ``pairwise``, whose column sums pair neighbours as the generated ``pairwise_sum`` does."""
    size = R.shape[1]
    lanes = np.empty(LANES)
    sums = np.empty((BLOCKS, rows.shape[0]))
    for c in range((size + CHUNK - 1) // CHUNK):
        start = c * CHUNK
        blocks = (min(start + CHUNK, size) - start + BLOCK - 1) // BLOCK
        for k in range(rows.shape[0]):
            row = R[rows[k]]
            for b in range(blocks):
                b0 = start + b * BLOCK
                m = min(BLOCK, size - b0)
                lanes[:] = 0.0
                for p in range(m):
                    lanes[p % LANES] += row[b0 + p]
                w = LANES // 2
                while w >= 1:                     # the generated lane_sum
                    for j in range(w):
                        lanes[j] = lanes[j] + lanes[j + w]
                    w //= 2
                sums[b, k] = lanes[0]
        P[first + c] = _pairwise_jit(sums[:blocks])


_compiled = {}
_pairwise_jit = None   # the compiled _pairwise, which the compiled _chunk_sums calls


def helper(name):
    """pairwise / chunk_sums, compiled once per process (cached on disk by Numba)."""
    global _pairwise_jit
    fn = _compiled.get(name)
    if fn is None:
        if name == "chunk_sums":
            helper("pairwise")
        fn = _compiled[name] = _jit()({"pairwise": _pairwise, "chunk_sums": _chunk_sums}[name])
        if name == "pairwise":
            _pairwise_jit = fn
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
    name = ("grad" if grad else "value") + ("_reduce_ploop" if parallel else "_reduce_loop")
    compiled(name, *args, *per_point, P, threads, size)
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
