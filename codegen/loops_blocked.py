"""Elementwise loops for programs with many results (a Hessian's entries), in blocks.

LLVM vectorizes a loop over separate output arrays only after runtime checks that no two of
them overlap: one per pair of arrays, at most 128 checks (``-vectorize-memory-check-
threshold``). A loop writing 21 arrays (the neuron's value, gradient and Hessian) needs
over 200, so it stays scalar. Here each block of ``BLOCK`` points is computed into a local
``(results, BLOCK)`` scratch array, which aliases nothing, so the compute loop vectorizes;
then each result's block is copied to its output array (one plain, vectorized copy per
result). The numbers are the same: the same ``value_and_grad`` at every point.
"""

BLOCK = 1024
MIN_RESULTS = 12    # from this many results on, loops are blocked (C(12, 2) + 2*12 ~ 90 checks)


def blocked_loop_source(inputs, mask, results, outs, call, loop, fresh):
    """Source of ``{kind}_{loop}`` in blocks. ``fresh(base)``: a name not used yet."""
    i0, j, m, tmp, b = (fresh(n) for n in ("i0", "j", "m", "tmp", "b"))
    n = fresh("n")
    args = ", ".join(f"{x}[{i0} + {j}]" if is_array else x for x, is_array in zip(inputs, mask))
    rng = "prange" if loop == "ploop" else "range"
    lines = [f"    {n} = {outs[0]}.shape[0]"]
    if loop != "ploop":
        lines.append(f"    {tmp} = np.empty(({len(results)}, {BLOCK}))")
    lines += [f"    for {b} in {rng}(({n} + {BLOCK - 1}) // {BLOCK}):",
              f"        {i0} = {b}*{BLOCK}",
              f"        {m} = min({BLOCK}, {n} - {i0})"]
    if loop == "ploop":   # one scratch block per iteration: threads never share it
        lines.append(f"        {tmp} = np.empty(({len(results)}, {BLOCK}))")
    lines += [f"        for {j} in range({m}):",
              f"            {', '.join(results)} = {call}({args})"]
    lines += [f"            {tmp}[{k}, {j}] = {r}" for k, r in enumerate(results)]
    lines += [f"        {o}[{i0}:{i0} + {m}] = {tmp}[{k}, :{m}]" for k, o in enumerate(outs)]
    return lines
