"""Elementary functions of one argument: exponentials, logarithms, trigonometric and
hyperbolic functions and their inverses, error functions, rounding."""
import math

import numpy as np

from ..expr import call
from .record import op, sympy, sympy_class

LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _c(name):
    """SymPy class ``name`` (sympy or cfunctions) applied to the operands."""
    return lambda *args: sympy_class(name)(*args)


op("exp", 1, lambda g, y, x: (y * g,), "exp: y", _c("exp"), np.exp, call="np.exp",
   vmath="vexp", aliases=("math.exp", "np.exp"), sympy_classes=("exp",),
   edges="exp(710) is inf")
op("log", 1, lambda g, y, x: (g / x,), "log: 1/x", _c("log"), np.log, call="np.log",
   vmath="vlog", aliases=("np.log",), sympy_classes=("log",), domain=(0.1, 4.0),
   edges="log(0) is -inf, log of a negative number is nan")
op("sqrt", 1, lambda g, y, x: (g / (2 * y),), "sqrt: 1/(2*y)", lambda x: sympy.sqrt(x), np.sqrt,
   call="np.sqrt", aliases=("math.sqrt", "np.sqrt"), domain=(0.1, 4.0),
   edges="sqrt'(0) is inf; sqrt of a negative number is nan")
op("sin", 1, lambda g, y, x: (call("cos", x) * g,), "sin: cos(x)", _c("sin"), np.sin,
   call="np.sin", vmath="vsin", aliases=("math.sin", "np.sin"), sympy_classes=("sin",),
   edges="sin(x) is nan for |x| > 2**47 = 1.4e14 (no Payne-Hanek reduction; NumPy gives the value)")
op("cos", 1, lambda g, y, x: (-(call("sin", x) * g),), "cos: -sin(x)", _c("cos"), np.cos,
   call="np.cos", vmath="vcos", aliases=("math.cos", "np.cos"), sympy_classes=("cos",),
   edges="cos(x) is nan for |x| > 2**47 = 1.4e14, as sin")
op("tan", 1, lambda g, y, x: ((1 + y * y) * g,), "tan: 1 + y*y", _c("tan"), np.tan,
   call="np.tan", libm="tan", aliases=("math.tan", "np.tan"), sympy_classes=("tan",), domain=(-1.4, 1.4))
op("sinh", 1, lambda g, y, x: (call("cosh", x) * g,), "sinh: cosh(x)", _c("sinh"), np.sinh,
   call="np.sinh", libm="sinh", aliases=("math.sinh", "np.sinh"), sympy_classes=("sinh",))
op("cosh", 1, lambda g, y, x: (call("sinh", x) * g,), "cosh: sinh(x)", _c("cosh"), np.cosh,
   call="np.cosh", libm="cosh", aliases=("math.cosh", "np.cosh"), sympy_classes=("cosh",))
op("tanh", 1, lambda g, y, x: ((1 - y * y) * g,), "tanh: 1 - y*y", _c("tanh"), np.tanh,
   call="np.tanh", vmath="vtanh", aliases=("math.tanh", "np.tanh"), sympy_classes=("tanh",))
op("abs", 1, lambda g, y, x: (call("sign", x) * g,), "abs: sign(x), 0 at 0", _c("Abs"), np.abs,
   call="abs", aliases=("math.fabs", "np.absolute", "np.fabs", "abs"), sympy_classes=("Abs",),
   edges="abs'(0) = 0 (PyTorch, autograd; JAX 0.10 gives 1)", kink=True)
op("sign", 1, lambda g, y, x: (None,), "sign: flat", _c("sign"), np.sign, call="np.sign",
   aliases=("np.sign",), sympy_classes=("sign",), edges="sign(nan) is nan; gradient 0 everywhere", kink=True)

# -- inverse trigonometric and hyperbolic -------------------------------------------------
op("asin", 1, lambda g, y, x: (g / call("sqrt", 1 - x * x),), "asin: 1/sqrt(1 - x*x)",
   _c("asin"), np.arcsin, call="np.arcsin", libm="asin", aliases=("math.asin", "np.arcsin"),
   sympy_classes=("asin",), domain=(-0.9, 0.9),
   edges="asin(x) is nan outside [-1, 1]; asin'(±1) is inf")
op("acos", 1, lambda g, y, x: (-(g / call("sqrt", 1 - x * x)),), "acos: -1/sqrt(1 - x*x)",
   _c("acos"), np.arccos, call="np.arccos", libm="acos", aliases=("math.acos", "np.arccos"),
   sympy_classes=("acos",), domain=(-0.9, 0.9),
   edges="acos(x) is nan outside [-1, 1]; acos'(±1) is -inf")
op("atan", 1, lambda g, y, x: (g / (1 + x * x),), "atan: 1/(1 + x*x)",
   _c("atan"), np.arctan, call="np.arctan", vmath="vatan", aliases=("math.atan", "np.arctan"),
   sympy_classes=("atan",), domain=(-4.0, 4.0), edges="atan(±inf) is ±pi/2")
op("asinh", 1, lambda g, y, x: (g / call("sqrt", x * x + 1),), "asinh: 1/sqrt(x*x + 1)",
   _c("asinh"), np.arcsinh, call="np.arcsinh", vmath="vasinh",
   aliases=("math.asinh", "np.arcsinh"), sympy_classes=("asinh",), domain=(-4.0, 4.0))
op("acosh", 1, lambda g, y, x: (g / (call("sqrt", x - 1) * call("sqrt", x + 1)),),
   "acosh: 1/(sqrt(x - 1)*sqrt(x + 1))", _c("acosh"), np.arccosh, call="np.arccosh",
   libm="acosh", aliases=("math.acosh", "np.arccosh"), sympy_classes=("acosh",),
   domain=(1.1, 4.0), edges="acosh(x) is nan below 1; acosh'(1) is inf")
op("atanh", 1, lambda g, y, x: (g / (1 - x * x),), "atanh: 1/(1 - x*x)",
   _c("atanh"), np.arctanh, call="np.arctanh", libm="atanh", aliases=("math.atanh", "np.arctanh"),
   sympy_classes=("atanh",), domain=(-0.9, 0.9),
   edges="atanh(±1) is ±inf, nan outside [-1, 1]")

# -- error functions ---------------------------------------------------------------------------
op("erf", 1, lambda g, y, x: (TWO_OVER_SQRT_PI * call("exp", -(x * x)) * g,),
   "erf: 2/sqrt(pi)*exp(-x*x)", _c("erf"), np.vectorize(math.erf, otypes=[float]),
   call="math.erf", imports=("math",), vmath="verf", aliases=("math.erf",),
   sympy_classes=("erf",))
op("erfc", 1, lambda g, y, x: (-(TWO_OVER_SQRT_PI * call("exp", -(x * x)) * g),),
   "erfc: -2/sqrt(pi)*exp(-x*x)", _c("erfc"), np.vectorize(math.erfc, otypes=[float]),
   call="math.erfc", imports=("math",), vmath="verfc", aliases=("math.erfc",),
   sympy_classes=("erfc",))

# -- logarithms and exponentials of other bases, and near 0 ----------------------------------
op("log2", 1, lambda g, y, x: (g / (x * LN2),), "log2: 1/(x*log(2))", _c("log2"), np.log2,
   call="np.log2", libm="log2", aliases=("math.log2", "np.log2"), sympy_classes=("log2",),
   domain=(0.1, 4.0), edges="log2(0) is -inf, nan below 0")
op("log10", 1, lambda g, y, x: (g / (x * LN10),), "log10: 1/(x*log(10))", _c("log10"), np.log10,
   call="np.log10", libm="log10", aliases=("math.log10", "np.log10"), sympy_classes=("log10",),
   domain=(0.1, 4.0), edges="log10(0) is -inf, nan below 0")
op("log1p", 1, lambda g, y, x: (g / (1 + x),), "log1p: 1/(1 + x)", _c("log1p"), np.log1p,
   call="np.log1p", vmath="vlog1p", aliases=("math.log1p", "np.log1p"), sympy_classes=("log1p",),
   domain=(-0.9, 3.0), edges="log1p(-1) is -inf, nan below -1")
op("expm1", 1, lambda g, y, x: (call("exp", x) * g,), "expm1: exp(x)", _c("expm1"), np.expm1,
   call="np.expm1", vmath="vexpm1", aliases=("math.expm1", "np.expm1"), sympy_classes=("expm1",))
op("exp2", 1, lambda g, y, x: (y * LN2 * g,), "exp2: y*log(2)", _c("exp2"), np.exp2,
   call="np.exp2", libm="exp2", aliases=("math.exp2", "np.exp2"), sympy_classes=("exp2",),
   edges="exp2(1024) is inf")
op("cbrt", 1, lambda g, y, x: (g / (3 * (y * y)),), "cbrt: 1/(3*y*y)", _c("Cbrt"), np.cbrt,
   call="np.cbrt", libm="cbrt", aliases=("math.cbrt", "np.cbrt"), sympy_classes=("Cbrt",),
   domain=(0.2, 4.0), edges="cbrt(-8) is -2; cbrt'(0) is inf (PyTorch)")

# -- rounding: flat, jumps at the integers ------------------------------------------------------
op("floor", 1, lambda g, y, x: (None,), "floor: flat", _c("floor"), np.floor, call="np.floor",
   aliases=("math.floor", "np.floor"), sympy_classes=("floor",),
   edges="gradient 0 everywhere, at the jumps too (PyTorch, JAX)", kink=True)
op("ceil", 1, lambda g, y, x: (None,), "ceil: flat", _c("ceiling"), np.ceil, call="np.ceil",
   aliases=("math.ceil", "np.ceil"), sympy_classes=("ceiling",),
   edges="gradient 0 everywhere, at the jumps too (PyTorch, JAX)", kink=True)
op("trunc", 1, lambda g, y, x: (None,), "trunc: flat",
   lambda x: sympy.Piecewise((sympy.floor(x), x >= 0), (sympy.ceiling(x), True)), np.trunc,
   call="np.trunc", aliases=("math.trunc", "np.trunc", "np.fix"),
   edges="rounds toward 0; gradient 0 everywhere (PyTorch, JAX)", kink=True)
