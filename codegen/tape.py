"""Tape kernels: one compiled interpreter for programs too big to compile line by line.

Numba's compile time grows faster than the length of the function it compiles: a
2,500-line kernel takes about 17 s, an 8,000-line one 35-40 s, and the 100,000-node stress
formula (108,000 lines) does not finish in 10 minutes. So a program too big to inline
whole (``kernels.inline_policy``) is not compiled into a kernel of its own. It is *lowered*, in plain Python and in
linear time, to a tape of three-address instructions::

    opcode  dst  a  b  c        W[dst] = op(W[a], W[b], W[c])

over a work array ``W`` with one row per register, and run by one interpreter
(``run_block``) that is compiled once per machine and cached like every kernel module.

- **Same arithmetic.** Each instruction is one operation of a program line. The
  interpreter's branches are printed from the same operation table and printed forms as
  the readable source, and its ``np`` is bound to the same math (``codegen.vnumpy``), so a
  tape gives the straight-line kernel's numbers. Integer powers (``x**3``) run Numba's own
  exponentiation by squaring, as the compiled straight-line code does.
- **Blocks of points.** Every instruction runs over a row of up to ``block`` points, so
  the dispatch costs once per instruction per block and the rows are plain loops that
  LLVM vectorizes. Array calls split their points into blocks; with several threads, the
  blocks are shared out over ``prange`` (each thread has its own work array).
- **Few registers.** A register is reused after its last use (a linear scan over the
  straight-line code), so ``W`` holds only what is live at once: inputs, constants, and
  the forward values the backward pass still needs. Dead instructions are dropped.

The interpreter module runs as plain Python too (``prange = range``, plain ``np``), which
is how the tests check the lowering on many formulas without compiling.
"""
import functools
import heapq

import numpy as np

from symdiff.functions import HELPERS, OPS

from . import cache, powers, vnumpy
from .compiled import Compiled, build_stamp

WORK_BYTES = 1 << 23         # aim for a work array of about this size
BLOCK_MAX = 256              # points per block at most
PARALLEL_WORK = 1 << 22      # instructions x points before the tape uses every thread

_A, _B, _C = "W[a, j]", "W[b, j]", "W[c, j]"


def _branch(op):
    """W[d, j] for one op, from its table entry: infix arithmetic or its printed form."""
    if op.symbol:
        return f"{_A}{op.symbol}{_B}"
    if op.name == "neg":
        return f"-{_A}"
    return op.printed.format(_A, _B, _C)


BRANCHES = [  # (opcode name, expression for W[d, j]); b is an int exponent for powi
    *[(name, _branch(op)) for name, op in OPS.items() if op.symbol or name == "neg"],
    ("powi", f"ipow({_A}, b)"),
    ("pow_half", f"pow_half({_A})"),
    ("exp2_times", f"exp2({_A})"),
    # a product used once, by a sum: one pass over the rows instead of two (the same two
    # roundings: Numba does not contract a*b + c into an FMA)
    ("muladd", f"{_A}*{_B} + {_C}"),
    ("mulsub", f"{_A}*{_B} - {_C}"),
    ("submul", f"{_C} - {_A}*{_B}"),
] + [(name, _branch(op)) for name, op in OPS.items() if op.printed is not None]
OPCODE = {name: k for k, (name, _) in enumerate(BRANCHES)}
INT32_MAX = 2**31 - 1


@functools.lru_cache(maxsize=None)
def interpreter_source():
    """The interpreter module (deterministic: the same table gives the same bytes)."""
    branches = []
    for k, (name, expr) in enumerate(BRANCHES):
        branches.append(f"        {'if' if k == 0 else 'elif'} op == {k}:  # {name}\n"
                        f"            for j in range(m):\n"
                        f"                W[d, j] = {expr}")
    helpers = "\n\n\n".join(HELPERS.values())
    return f'''"""symdiff tape interpreter (generated from symdiff's operation table; do not edit)."""
# build {build_stamp()} tape: symdiff version, compile options, math library
import math

import numpy as np

prange = range  # numba.prange when compiled


{helpers}


{powers.source()}

def exp2(x):
    """2**x: (2.0**k)**x compiles to exp2(k*x) (codegen/powers.py)."""
    return math.exp2(x)


def run_block(code, W, X, OUT, outs, start, m):
    """Points start..start+m: load the inputs into rows 0.., run the tape, store the results."""
    for k in range(X.shape[0]):
        for j in range(m):
            W[k, j] = X[k, start + j]
    for pc in range(code.shape[0]):
        op = code[pc, 0]
        d = code[pc, 1]
        a = code[pc, 2]
        b = code[pc, 3]
        c = code[pc, 4]
{chr(10).join(branches)}
    for k in range(outs.shape[0]):
        s = outs[k]
        for j in range(m):
            OUT[k, start + j] = W[s, j]


def new_work(consts, n_inputs, rows, block):
    """A work array with the constants in their rows (after the inputs)."""
    W = np.zeros((rows, block))
    for k in range(consts.shape[0]):
        for j in range(block):
            W[n_inputs + k, j] = consts[k]
    return W


def tape_loop(code, consts, X, OUT, outs, rows, block):
    """Run the tape over every point (column) of X, block by block."""
    W = new_work(consts, X.shape[0], rows, block)
    size = X.shape[1]
    for start in range(0, size, block):
        run_block(code, W, X, OUT, outs, start, min(block, size - start))


def tape_ploop(code, consts, X, OUT, outs, rows, block, chunks):
    """tape_loop with the blocks shared out over chunks (threads), one work array each."""
    size = X.shape[1]
    nblocks = (size + block - 1) // block
    per = (nblocks + chunks - 1) // chunks
    for t in prange(chunks):
        W = new_work(consts, X.shape[0], rows, block)
        for k in range(t * per, min(nblocks, (t + 1) * per)):
            start = k * block
            run_block(code, W, X, OUT, outs, start, min(block, size - start))
'''


class Tape:
    """One program lowered to instructions: ``code`` (int32, n x 5), ``consts``, the number
    of work rows, and the row of each result (value, then gradients)."""

    def __init__(self, code, consts, n_inputs, rows, outs):
        self.code = code
        self.consts = consts
        self.n_inputs = n_inputs
        self.rows = rows
        self.outs = outs

    def __len__(self):
        return len(self.code)

    def block(self, size):
        """Points per block for ``size`` points: the work array stays near WORK_BYTES."""
        block = max(8, min(BLOCK_MAX, WORK_BYTES // (8 * self.rows)))
        return min(block - block % 8, size)   # whole vectors of 2, 4 or 8 lanes

    def run(self, X, module, parallel=None, threads=1, out=None):
        """Results (one row per result) at every column of X (inputs x points), in ``out``
        (a C-contiguous results x points array) when given."""
        if X.ndim != 2 or X.shape[0] != self.n_inputs:
            raise TypeError(f"the tape takes {self.n_inputs} input row(s), got an array of shape {X.shape}")
        size = X.shape[1]
        if out is None:
            out = np.empty((len(self.outs), size))
        if size == 0:
            return out
        block = self.block(size)
        args = (self.code, self.consts, X, out, self.outs, self.rows, block)
        if parallel is None:
            parallel = threads > 1 and len(self.code) * size >= PARALLEL_WORK \
                and size >= 2 * block
        if parallel:
            module("tape_ploop", *args, threads)
        else:
            module("tape_loop", *args)
        return out


def lower(program, grad=True):
    """The program's lines as a tape: ``(value, *gradients)`` with grad, else ``value``."""
    lines = program.forward + (program.backward if grad else ())
    n_in = len(program.inputs)
    env = {name: k for k, name in enumerate(program.inputs)}   # name -> virtual register
    consts = {}          # float bits -> (virtual register, value)
    instrs = []          # [opcode, dst, a, b, c] over virtual registers
    counter = [n_in]

    def new():
        counter[0] += 1
        return counter[0] - 1

    def const(value):
        value = float(value)
        key = value.hex()
        if key not in consts:
            consts[key] = (new(), value)
        return consts[key][0]

    def emit(op, *args, exponent=None):
        dst = new()
        a, b, c = (list(args) + [-1, -1, -1])[:3]
        if exponent is not None:
            b = exponent
        instrs.append([OPCODE[op], dst, a, b, c])
        return dst

    def walk(ex):
        op = ex.op
        if op == "var":
            return env[ex.args[0]]
        if op == "num":
            return const(ex.args[0])
        if op == "call":
            return emit(ex.args[0], *(walk(x) for x in ex.args[1:]))
        if op == "pow":
            return power(*ex.args)
        return emit(op, *(walk(x) for x in ex.args))

    def power(base, exponent):
        """A power as the compiled straight-line code computes it (``powers.form``)."""
        kind, *k = powers.form(powers.literal(base), powers.literal(exponent))
        if kind == "ipow" and k[0] <= INT32_MAX:     # beyond, ipow is pow() anyway
            return emit("powi", walk(base), exponent=k[0])
        if kind == "square":
            a = walk(base)
            return emit("mul", a, a)
        if kind == "reciprocal":
            return emit("div", const(1.0), walk(base))
        if kind == "pow_half":
            return emit("pow_half", walk(base))
        if kind == "exp2":
            return emit("exp2_times", emit("mul", const(float(k[0])), walk(exponent)))
        return emit("pow", walk(base), walk(exponent))

    for line in lines:
        value = walk(line.expr)
        if line.accumulate:
            value = emit("add", env[line.target], value)
        env[line.target] = value
    results = [env[program.output]] + ([env[g] for g in program.grads] if grad else [])
    return _allocate(instrs, consts, n_in, results)


def _sources(ins):
    op, _, a, b, c = ins
    if op == OPCODE["powi"]:
        return (a,)
    return tuple(x for x in (a, b, c) if x >= 0)


def _fuse(instrs, results):
    """``t = a*b; d = t + c`` -> ``d = muladd(a, b, c)`` when t has no other use (likewise
    ``t - c`` and ``c - t``). Virtual registers are assigned once, so a and b still hold
    their values where the sum is."""
    uses = {}
    for ins in instrs:
        for v in _sources(ins):
            uses[v] = uses.get(v, 0) + 1
    for v in results:
        uses[v] = uses.get(v, 0) + 2
    MUL, ADD, SUB = OPCODE["mul"], OPCODE["add"], OPCODE["sub"]
    product = {ins[1]: ins for ins in instrs if ins[0] == MUL}
    fused_away = set()

    def single(v):
        return v in product and uses.get(v) == 1 and v not in fused_away

    out = []
    for ins in instrs:
        op, dst, a, b, _ = ins
        if op == ADD and (single(a) or single(b)):
            t, other = (a, b) if single(a) else (b, a)
            fused_away.add(t)
            ins = [OPCODE["muladd"], dst, product[t][2], product[t][3], other]
        elif op == SUB and single(a):
            fused_away.add(a)
            ins = [OPCODE["mulsub"], dst, product[a][2], product[a][3], b]
        elif op == SUB and single(b):
            fused_away.add(b)
            ins = [OPCODE["submul"], dst, product[b][2], product[b][3], a]
        out.append(ins)
    return [ins for ins in out if ins[1] not in fused_away]


def _allocate(instrs, consts, n_in, results):
    """Drop dead instructions, then give each virtual register a work row: inputs and
    constants keep theirs, others reuse a row freed at an earlier instruction."""
    needed = set(results)
    kept = []
    for ins in reversed(instrs):
        if ins[1] in needed:
            kept.append(ins)
            needed.update(_sources(ins))
    kept.reverse()
    kept = _fuse(kept, results)
    row = {k: k for k in range(n_in)}
    values = []
    for vreg, value in consts.values():
        row[vreg] = n_in + len(values)
        values.append(value)
    pinned = n_in + len(values)
    last = {}
    for pc, ins in enumerate(kept):
        for v in _sources(ins):
            last[v] = pc
    for v in results:
        last[v] = len(kept)
    free, rows = [], pinned
    code = np.empty((len(kept), 5), dtype=np.int32)
    for pc, ins in enumerate(kept):
        op, dst, a, b, c = ins
        if free:
            row[dst] = heapq.heappop(free)
        else:
            row[dst] = rows
            rows += 1
        srcs = _sources(ins)
        code[pc] = (op, row[dst], row[a] if a >= 0 else 0,
                    b if op == OPCODE["powi"] else (row[b] if b >= 0 else 0),
                    row[c] if c >= 0 else 0)
        for v in set(srcs):
            if last[v] == pc and row[v] >= pinned:
                heapq.heappush(free, row[v])
    outs = np.array([row[v] for v in results], dtype=np.int32)
    return Tape(code, np.array(values, dtype=np.float64), n_in, max(rows, 1), outs)


@functools.lru_cache(maxsize=None)
def compiled():
    """The interpreter module, Numba-compiled (lazily, on first call; cached on disk)."""
    return Compiled(interpreter_source(), list(HELPERS) + ["ipow", "pow_half", "exp2", "run_block",
                                                           "new_work", "tape_loop", "tape_ploop"],
                    inline=(), np_inline=True)


@functools.lru_cache(maxsize=None)
def plain():
    """The interpreter module as plain Python (for tests: slow, but no compile)."""
    module = cache.load_plain(interpreter_source())
    module.np = vnumpy.plain()
    module.math = vnumpy.plain_math()
    vnumpy.bind_helpers(module, "plain")
    module.exp2 = powers.exp2       # libm's exp2, inf (not OverflowError) on overflow
    return lambda name, *args: getattr(module, name)(*args)
