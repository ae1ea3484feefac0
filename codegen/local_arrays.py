"""Small arrays on the stack of a compiled function: ``local_zeros(n)``.

A fused sum (``codegen.reduce``) adds every point's results into a few lane accumulators.
Held in an array that is an argument, or allocated on the heap, they are memory to LLVM:
it cannot tell them apart from the inputs, so every point loads and stores them again
(the neuron's fused sum: 4 vector loads and 4 vector stores per 8 points, besides its
arithmetic). On the stack (an ``alloca`` in the compiled function) nothing else can point
at them: indexed by the vectorized loop's constant positions, they stay in vector
registers for a whole block of points.

``local_zeros(n)`` is ``np.zeros(n)`` (float64) for a literal ``n``. Generated modules
define it as that (their plain-Python text); ``codegen.compiled`` binds this intrinsic
when compiling. The array lives as long as the compiled function that called it (its
``alloca`` is placed in that function's entry block; each call zeroes it again), so it
must not be returned or stored: the generated code only reads it back in the same
function or passes it down to a call.
"""
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
