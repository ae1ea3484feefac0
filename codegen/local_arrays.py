"""Small arrays on the stack of a compiled function (``local_zeros(n)``), and the sum of
a row of lanes in vector registers (``lane_sum(width)``).

A fused sum (``codegen.reduce``) adds every point's results into a few lane accumulators.
Held in an array that is an argument, or allocated on the heap, they are memory to LLVM:
it cannot tell them apart from the inputs, so every point loads and stores them again
(the neuron's fused sum: 4 vector loads and 4 vector stores per 8 points, besides its
arithmetic). On the stack (an ``alloca`` in the compiled function) nothing else can point
at them: indexed by the vectorized loop's constant positions, they stay in vector
registers for a whole block of points.

``local_zeros(n)`` is ``np.zeros(n)`` (float64) for a literal ``n``. Generated modules
define it as that, and ``lane_sum`` as plain loops (their plain-Python text);
``codegen.reduce`` has ``codegen.compiled`` bind these intrinsics when compiling. The array lives as long as the compiled function that called it (its
``alloca`` is placed in that function's entry block; each call zeroes it again), so it
must not be returned or stored: the generated code only reads it back in the same
function or passes it down to a call.
"""
import functools

from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

_ARRAY = types.Array(types.float64, 1, "C")


@intrinsic
def local_zeros(typingctx, n):
    """A C-contiguous float64 array of ``n`` zeros on the caller's stack (``n`` literal)."""
    if not isinstance(n, types.IntegerLiteral):
        raise errors.RequireLiteralValue("local_zeros needs a literal length")
    count = n.literal_value
    if count <= 0:
        raise errors.TypingError("local_zeros needs a positive length")

    def codegen(context, builder, sig, args):
        intp = context.get_value_type(types.intp)
        double = context.get_value_type(types.float64)
        data = cgutils.alloca_once(builder, double, size=context.get_constant(types.intp, count))
        cgutils.memset(builder, data, context.get_constant(types.intp, 8 * count), 0)
        ary = make_array(_ARRAY)(context, builder)
        populate_array(ary, data=data, shape=[intp(count)], strides=[intp(8)],
                       itemsize=intp(8), meminfo=None)
        return ary._getvalue()

    return _ARRAY(n), codegen


@functools.lru_cache(maxsize=None)
def lane_sum(width):
    """The generated modules' ``lane_sum(v)`` for ``width`` lanes (a power of two): v[0] +
    ... + v[width - 1] added halves first, v[j] + v[j + width/2], then v[j] + v[j +
    width/4], ..., the same additions in the same order as the plain-Python text, as a few
    vector additions (LLVM left that text as ~16 scalar additions per sum with stack
    traffic, 4% of the neuron's fused sum). Reads v, does not overwrite it."""
    vec = ir.VectorType(ir.DoubleType(), width)
    i32 = ir.IntType(32)

    @intrinsic
    def call(typingctx, v):
        if not (isinstance(v, types.Array) and v.dtype == types.float64 and v.ndim == 1):
            raise errors.TypingError("lane_sum takes a 1-D float64 array")

        def codegen(context, builder, sig, args):
            ary = make_array(sig.args[0])(context, builder, args[0])
            x = builder.load(builder.bitcast(ary.data, vec.as_pointer()), align=8)
            n = width
            while n > 1:
                n //= 2
                low = ir.Constant(ir.VectorType(i32, n), [ir.Constant(i32, k) for k in range(n)])
                high = ir.Constant(ir.VectorType(i32, n), [ir.Constant(i32, k + n) for k in range(n)])
                x = builder.fadd(builder.shuffle_vector(x, x, low), builder.shuffle_vector(x, x, high))
            return builder.extract_element(x, ir.Constant(i32, 0))
        return types.float64(v), codegen
    return call
