"""Streaming (non-temporal) copies of a block's results to their big output arrays.

A loop with many results (a Hessian's 21 arrays of 10**6 points, 168 MB) is bound by
memory writes. A plain store first reads the output's cache line from memory (read for
ownership) and later writes it back: two transfers per line written. A non-temporal store
(``vmovntpd``) writes the whole line to memory without reading it first, and keeps the
outputs out of the caches, where the inputs and the scratch block live.

``stream_copy(dst, i0, src, k, m)`` is ``dst[i0:i0 + m] = src[k, :m]``: plain stores up to
the first 64-byte boundary of ``dst``, then aligned 8-double non-temporal stores, then
plain stores for the rest. The values are the same bits (a store does not change them).
``stream_fence()`` (``sfence`` on x86) orders the streamed stores before anything that follows
(another thread reading the results), as non-temporal stores are weakly ordered.

The kernel modules define plain-Python twins of both (``codegen.loops_blocked.PLAIN``: the
same copy, no fence), so their text runs as plain Python; ``codegen.compiled`` binds these
when compiling.
"""
import platform

import numba
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

LINE = 64       # bytes per cache line: the alignment of one streamed vector
LANES = 8       # doubles per streamed store (LINE // 8): one zmm register, or two ymm


@intrinsic
def _address(typingctx, arr, i):
    """The address of ``arr[i]`` (a 1-D float64 array) as an integer."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.ptrtoint(builder.gep(ary.data, [args[1]]), ir.IntType(64))
    return types.int64(arr, i), codegen


@intrinsic
def _stream8(typingctx, dst, i, src, k, j):
    """``dst[i:i + 8] = src[k, j:j + 8]`` with one non-temporal store; ``&dst[i]`` must be
    64-byte aligned (``src``: C-contiguous 2-D, any alignment)."""
    def codegen(context, builder, sig, args):
        d = context.make_array(sig.args[0])(context, builder, args[0])
        s = context.make_array(sig.args[2])(context, builder, args[2])
        vec = ir.VectorType(ir.DoubleType(), LANES)
        row = builder.extract_value(s.shape, 1)
        at = builder.add(builder.mul(args[3], row), args[4])
        value = builder.load(builder.bitcast(builder.gep(s.data, [at]), vec.as_pointer()), align=8)
        store = builder.store(value, builder.bitcast(builder.gep(d.data, [args[1]]), vec.as_pointer()),
                              align=LINE)
        store.set_metadata("nontemporal", builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()
    return types.void(dst, i, src, k, j), codegen


@intrinsic
def _fence(typingctx):
    """``sfence`` on x86 (LLVM's ``fence seq_cst`` there is a locked ``or``, which Intel's
    manual orders with non-temporal stores but AMD's does not promise to); elsewhere a full
    fence."""
    def codegen(context, builder, sig, args):
        if platform.machine().lower() in ("x86_64", "amd64"):
            fn = builder.module.declare_intrinsic("llvm.x86.sse.sfence", fnty=ir.FunctionType(ir.VoidType(), []))
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.void(), codegen


@numba.njit(inline="always", error_model="numpy")
def stream_copy(dst, i0, src, k, m):
    """``dst[i0:i0 + m] = src[k, :m]``, streaming whole aligned lines of ``dst``."""
    a = _address(dst, i0)
    if a & 7 or dst.strides[0] != 8 or src.strides[1] != 8:   # odd address or strided: plain copy
        head = m
    else:
        head = min(((LINE - (a & (LINE - 1))) & (LINE - 1)) >> 3, m)
    for j in range(head):
        dst[i0 + j] = src[k, j]
    j = head
    while j + LANES <= m:
        _stream8(dst, i0 + j, src, k, j)
        j += LANES
    for t in range(j, m):
        dst[i0 + t] = src[k, t]


@numba.njit(inline="always", error_model="numpy")
def stream_fence():
    """Streamed stores so far are visible before any later store (a full fence)."""
    _fence()

