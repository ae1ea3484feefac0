"""Elementwise loops for programs with many results (a Hessian's entries), in blocks.

LLVM vectorizes a loop over separate output arrays only after runtime checks that no two of
them overlap: one per pair of arrays, at most 128 checks (``-vectorize-memory-check-
threshold``). A loop writing 21 arrays (the neuron's value, gradient and Hessian) needs
over 200, so it stays scalar. Here each block of ``BLOCK`` points is computed into a local
``(results, BLOCK)`` scratch array, which aliases nothing, so the compute loop vectorizes;
then each result's block is copied to its output array with streaming stores
(``codegen/streams.py``: no read of the output's memory before it is written, which nearly
halves the memory traffic of these write-bound loops). The numbers are the same: the same
``value_and_grad`` at every point, the same bits stored.
"""

BLOCK = 1024
PAD = 8             # doubles after each scratch row: rows BLOCK*8 bytes apart (a multiple of
                    # 4 KB) would share L1 cache sets, 21 rows thrash them (3x slower)
MIN_RESULTS = 12    # from this many results on, loops are blocked (C(12, 2) + 2*12 ~ 90 checks)


CALLS = {"stream_copy", "stream_fence"}   # module functions the blocked loops call
# ... as plain Python in the module's text; compiled, they are codegen/streams.py's
PLAIN = '''def stream_copy(dst, i0, src, k, m):  # compiled: streaming stores (codegen/streams.py)
    dst[i0:i0 + m] = src[k, :m]


def stream_fence():  # compiled: a fence after the streamed stores
    pass
'''


def blocked_loop_source(inputs, mask, results, outs, call, loop, fresh):
    """Source of ``{kind}_{loop}`` in blocks. ``fresh(base)``: a name not used yet."""
    i0, j, m, tmp, b = (fresh(n) for n in ("i0", "j", "m", "tmp", "b"))
    n = fresh("n")
    args = ", ".join(f"{x}[{i0} + {j}]" if is_array else x for x, is_array in zip(inputs, mask))
    rng = "prange" if loop == "ploop" else "range"
    lines = [f"    {n} = {outs[0]}.shape[0]"]
    if loop != "ploop":
        lines.append(f"    {tmp} = np.empty(({len(results)}, {BLOCK + PAD}))")
    lines += [f"    for {b} in {rng}(({n} + {BLOCK - 1}) // {BLOCK}):",
              f"        {i0} = {b}*{BLOCK}",
              f"        {m} = min({BLOCK}, {n} - {i0})"]
    if loop == "ploop":   # one scratch block per iteration: threads never share it
        lines.append(f"        {tmp} = np.empty(({len(results)}, {BLOCK + PAD}))")
    lines += [f"        for {j} in range({m}):",
              f"            {', '.join(results)} = {call}({args})"]
    lines += [f"            {tmp}[{k}, {j}] = {r}" for k, r in enumerate(results)]
    lines += [f"        stream_copy({o}, {i0}, {tmp}, {k}, {m})" for k, o in enumerate(outs)]
    lines.append("        stream_fence()")
    return lines
