"""``**`` computed the way the compiled straight-line kernels compute it, everywhere.

Compiled, a power with a literal operand is not always a call to ``pow``:

- Numba turns ``x**3`` (an integer literal) into multiplications by repeated squaring;
- LLVM rewrites float literals: ``x**2.0`` into ``x*x``, ``x**-1.0`` into ``1.0/x``,
  ``x**0.5`` into ``sqrt`` (with ``-0`` and ``-inf`` fixed up), and ``(2.0**k)**x`` (a
  power-of-two base) into ``exp2(k*x)``.

Python and NumPy call ``pow`` for all of them, which now and then differs in the last bit
(``exp2(3*x)`` for ``8**x`` by more). So the paths that are not compiled straight-line
code compute these powers the same way: the plain-Python run of a kernel module
(``rewrite``: the same text, with those ``**`` evaluated by the functions below) and the
tape (``codegen.tape`` lowers them to the same operations). Every path then gives the same
numbers, bit for bit (tests/test_tape.py, tests/test_kernels.py).
"""
import ast
import math

import numpy as np

def ipow(a, n):
    """a**n for an integer n >= 0 as Numba compiles it: repeated squaring (pow() above 2**16)."""
    if n > 65536:
        return np.float64(a) ** float(n)
    r = 1.0
    while n != 0:
        if n & 1:
            r *= a
        n >>= 1
        a *= a
    return r


def pow_half(a):
    """a**0.5 as LLVM rewrites it: sqrt, with sqrt(-0.0) -> 0.0 and (-inf)**0.5 -> inf."""
    return np.inf if a == -np.inf else abs(np.sqrt(a))


def source():
    """ipow and pow_half as text, for the tape interpreter module (compiled there)."""
    import inspect
    return inspect.getsource(ipow) + "\n\n" + inspect.getsource(pow_half)


def exp2(x):
    """libm's exp2 with NumPy float64 semantics: inf on overflow, not OverflowError."""
    try:
        return np.float64(math.exp2(x))
    except OverflowError:
        return np.float64(np.inf)


def square(a):
    return a * a


def reciprocal(a):
    return 1.0 / a


def exp2_times(k, x):
    return exp2(k * x)


PLAIN = {"_sd_ipow": ipow, "_sd_pow_half": pow_half, "_sd_square": square,
         "_sd_reciprocal": reciprocal, "_sd_exp2_times": exp2_times}
FLOAT_EXPONENTS = {2.0: "square", -1.0: "reciprocal", 0.5: "pow_half"}


def power_of_two(value):
    """k when ``value`` is exactly 2.0**k with 1 <= |k| <= 62: the bases LLVM rewrites (it
    needs the base, or its reciprocal, to be a power of two that fits a signed 64-bit int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        return None
    mantissa, exponent = math.frexp(value)
    k = exponent - 1
    return k if mantissa == 0.5 and 1 <= abs(k) <= 62 else None


def _literal(node):
    """The number a literal (``2``, ``-1.0``) stands for, else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return None if inner is None else -inner
    return None


def form(base, exponent):
    """How compiled code computes ``base ** exponent``, from its literal operands as printed
    (a Python int or float, or None when not a literal): ``("ipow", n)``, ``("square",)``,
    ``("reciprocal",)``, ``("pow_half",)``, ``("exp2", k)`` for exp2(k*x), or ``("pow",)``.
    The plain-Python rewrite, the tape and trace all decide here."""
    if base is not None and exponent is not None:
        return ("pow",)
    if type(exponent) is int and exponent >= 0:
        return ("ipow", exponent)
    if type(exponent) is float and exponent in FLOAT_EXPONENTS:
        return (FLOAT_EXPONENTS[exponent],)
    if base is not None and power_of_two(base) is not None:
        return ("exp2", power_of_two(base))
    return ("pow",)


def literal(ex):
    """The literal an ``Ex`` operand prints as (int or float), or None (codegen.printer)."""
    from .printer import number
    if ex.op != "num":
        return None
    text = number(*ex.args)
    if "np." in text:                  # np.pi, -np.inf: names, not literals
        return None
    try:
        return int(text)
    except ValueError:
        return float(ex.args[0])


class _Powers(ast.NodeTransformer):
    def visit_BinOp(self, node):
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow):
            return node
        kind, *k = form(_literal(node.left), _literal(node.right))
        if kind == "pow":
            return node
        if kind == "ipow":
            name, args = "_sd_ipow", [node.left, node.right]
        elif kind == "exp2":
            name, args = "_sd_exp2_times", [ast.Constant(float(k[0])), node.right]
        else:
            name, args = "_sd_" + kind, [node.left]
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), node)


def rewrite(source, filename):
    """Code for ``source`` in which the powers above run as the compiled code runs them
    (bind ``PLAIN`` into the namespace it runs in). The text, and its line numbers, stay."""
    if "**" not in source:
        return compile(source, filename, "exec")
    tree = ast.fix_missing_locations(_Powers().visit(ast.parse(source, filename)))
    return compile(tree, filename, "exec")


def plain_power(base, exponent, base_ex, exponent_ex):
    """``base ** exponent`` as the plain-Python run computes it, given the operands' values
    and their expressions (``form`` decides, as in ``rewrite``)."""
    kind, *k = form(literal(base_ex), literal(exponent_ex))
    if kind == "ipow":
        return ipow(base, k[0])
    if kind == "exp2":
        return exp2_times(float(k[0]), exponent)
    if kind == "pow":
        return base ** exponent
    return PLAIN["_sd_" + kind](base)
