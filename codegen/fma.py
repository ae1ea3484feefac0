"""vmath's ``fma``, ``scale2``, ``fminimum`` and ``fmaximum`` (``codegen/fma_exact.py``) under
Numba: the ``llvm.fma.f64`` intrinsic (one rounding; a vfmadd instruction on x86-64,
vectorized with the loop), ``llvm.ldexp`` (vscalefpd with AVX-512) and ``llvm.minimum``/
``llvm.maximum`` (one vminpd/vmaxpd against a non-zero constant). Importing this module registers them
(``vmath.jit_namespace`` does); the plain-Python versions give the same bits (exact
rational arithmetic, ``math.ldexp``), and neither they nor vmath import numba."""
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from .fma_exact import fma, fmaximum, fminimum, scale2


@intrinsic
def _llvm_fma(typingctx, a, b, c):
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        f64 = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f64], ir.FunctionType(f64, [f64, f64, f64]))
        return builder.call(fn, args)
    return sig, codegen


@overload(fma, inline="always")
def _fma(a, b, c):
    def impl(a, b, c):
        return _llvm_fma(float(a), float(b), float(c))
    return impl


@intrinsic
def _llvm_ldexp(typingctx, p, k):
    sig = types.float64(types.float64, types.int64)

    def codegen(context, builder, signature, args):
        f64, i32 = ir.DoubleType(), ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.ldexp", [f64, i32], ir.FunctionType(f64, [f64, i32]))
        return builder.call(fn, [args[0], builder.trunc(args[1], i32)])
    return sig, codegen


@overload(scale2, inline="always")
def _scale2(p, k):
    def impl(p, k):
        return _llvm_ldexp(float(p), np.int64(k))
    return impl


def _min_max(intrinsic_name):
    @intrinsic
    def call(typingctx, a, b):
        sig = types.float64(types.float64, types.float64)

        def codegen(context, builder, signature, args):
            f64 = ir.DoubleType()
            fn = builder.module.declare_intrinsic(intrinsic_name, [f64], ir.FunctionType(f64, [f64, f64]))
            return builder.call(fn, args)
        return sig, codegen
    return call


_llvm_minimum = _min_max("llvm.minimum")
_llvm_maximum = _min_max("llvm.maximum")


@overload(fminimum, inline="always")
def _fminimum(a, b):
    def impl(a, b):
        return _llvm_minimum(float(a), float(b))
    return impl


@overload(fmaximum, inline="always")
def _fmaximum(a, b):
    def impl(a, b):
        return _llvm_maximum(float(a), float(b))
    return impl
