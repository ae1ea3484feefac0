"""vmath's ``fma`` (``codegen/fma_exact.py``) under Numba: the ``llvm.fma.f64`` intrinsic
(one rounding; a vfmadd instruction on x86-64, vectorized with the loop). Importing this
module registers it (``vmath.jit_namespace`` does); the plain-Python ``fma`` gives the same
bits by exact rational arithmetic, and neither it nor vmath imports numba."""
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from .fma_exact import fma


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
