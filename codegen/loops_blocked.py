"""Elementwise loops for programs with many results (a Hessian's entries), in blocks.

LLVM vectorizes a loop over separate output arrays only after runtime checks that no two of
them overlap: one per pair of arrays, at most 128 checks (``-vectorize-memory-check-
threshold``). A loop writing 21 arrays (the neuron's value, gradient and Hessian) needs
over 200, so it stays scalar. Here each block of points (``block_points``) is computed into a local
``(results, block)`` scratch array, which aliases nothing, so the compute loop vectorizes;
then each result's block is copied to its output array with streaming stores
(``codegen/streams.py``: no read of the output's memory before it is written, which nearly
halves the memory traffic of these write-bound loops). The numbers are the same: the same
``value_and_grad`` at every point, the same bits stored.
"""

BLOCK = 1024        # points per block of the prange loop (one scratch array per block)
SCRATCH_BYTES = 16384   # the serial loop's scratch block: half of a 32 KB L1 data cache
PAD = 8             # doubles after each scratch row: rows BLOCK*8 bytes apart (a multiple of
                    # 4 KB) would share L1 cache sets, 21 rows thrash them (3x slower)
MIN_RESULTS = 12    # from this many results on, loops are blocked (C(12, 2) + 2*12 ~ 90 checks)


def block_points(results):
    """Points per block of the serial loop: the largest power of two from 16 to 1024 whose
    scratch block (``results`` rows) fits in ``SCRATCH_BYTES``. Small blocks keep the
    scratch in L1 and let the streamed stores of one block drain to memory while the next
    block is computed: the neuron Hessian's 21 results over 10**6 points take 7-9 ms in
    blocks of 64 points against 10.5-11.5 ms in blocks of 1024 (compute, then write)."""
    block = 16
    while block < 1024 and 2 * block * results * 8 <= SCRATCH_BYTES:
        block *= 2
    return block


CALLS = {"stream_copy", "stream_fence"}   # module functions the blocked loops call


def compiled_calls():
    """CALLS as ``codegen.compiled.Compiled`` binds them (``bound=``): codegen/streams.py's
    streaming copy and fence (which import numba)."""
    from . import streams
    return {"stream_copy": streams.stream_copy, "stream_fence": streams.stream_fence}


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
    block = BLOCK if loop == "ploop" else block_points(len(results))
    lines = [f"    {n} = {outs[0]}.shape[0]"]
    if loop != "ploop":
        lines.append(f"    {tmp} = np.empty(({len(results)}, {block + PAD}))")
    lines += [f"    for {b} in {rng}(({n} + {block - 1}) // {block}):",
              f"        {i0} = {b}*{block}",
              f"        {m} = min({block}, {n} - {i0})"]
    if loop == "ploop":   # one scratch block per iteration: threads never share it
        lines.append(f"        {tmp} = np.empty(({len(results)}, {block + PAD}))")
    lines += [f"        for {j} in range({m}):",
              f"            {', '.join(results)} = {call}({args})"]
    lines += [f"            {tmp}[{k}, {j}] = {r}" for k, r in enumerate(results)]
    lines += [f"        stream_copy({o}, {i0}, {tmp}, {k}, {m})" for k, o in enumerate(outs)]
    if loop == "ploop":
        lines.append("        stream_fence()")
    else:
        lines.append("    stream_fence()")
    return lines
