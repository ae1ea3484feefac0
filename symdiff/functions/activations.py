"""Activation functions: sigmoid, softplus and relu are ops with stable helpers; the
others are built from ops when called."""
import math

import numpy as np

from ..expr import call, where
from .record import composed, custom, op, sympy

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
SQRT_HALF = math.sqrt(0.5)


def _np_sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def _np_softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


op("sigmoid", 1, lambda g, y, x: (y * (1 - y) * g,), "sigmoid: y*(1 - y)",
   custom("sigmoid", 1, lambda x: 1 / (1 + sympy.exp(-x)), "Logistic function 1/(1 + exp(-x))."),
   _np_sigmoid, call="sigmoid", vmath="vsigmoid", helper='''def sigmoid(x):
    """Logistic function, stable for large |x|: one exp of a non-positive number.
    (symdiff's kernels run codegen.vmath.vsigmoid: this function, one division.)"""
    z = np.exp(-abs(x))
    return (1.0 if x >= 0.0 else z)/(1.0 + z)''', sympy_classes=("sigmoid",),
   edges="sigmoid(-800) is 0.0, sigmoid(800) is 1.0 (no overflow)")
op("softplus", 1, lambda g, y, x: (call("sigmoid", x) * g,), "softplus: sigmoid(x)",
   custom("softplus", 1, lambda x: sympy.log(1 + sympy.exp(x)), "log(1 + exp(x))."),
   _np_softplus, call="softplus", helper='''def softplus(x):
    """log(1 + exp(x)), stable for large |x|."""
    return (x if x > 0.0 else 0.0) + np.log1p(np.exp(-abs(x)))''', sympy_classes=("softplus",),
   edges="softplus(800) is 800.0 (no overflow)")
op("relu", 1, lambda g, y, x: (where(y > 0, g, 0.0),), "relu: 1 if y > 0 else 0",
   custom("relu", 1, lambda x: sympy.Max(x, 0), "max(x, 0)."),
   lambda x: np.where(x <= 0, 0.0, x), call="relu", helper='''def relu(x):
    """max(x, 0); NaN stays NaN."""
    return 0.0 if x <= 0.0 else x''', sympy_classes=("relu",),
   edges="relu'(0) = 0 (PyTorch, JAX)", kink=True)


def _where_positive(b, x, positive, negative):
    return b("where", b("gt", x, b.const(0)), positive, negative)


composed("silu", (1, 1), lambda b, x: b("mul", x, b("sigmoid", x)),
         doc="x*sigmoid(x)")
composed("gelu", (1, 1),
         lambda b, x: b("mul", b("mul", b.const(0.5), x),
                        b("erfc", b("mul", b("neg", x), b.const(SQRT_HALF)))),
         doc="x*Phi(x), exact: 0.5*x*erfc(-x/sqrt(2))")
composed("elu", (1, 1), lambda b, x: _where_positive(b, x, x, b("expm1", x)),
         doc="x if x > 0 else expm1(x) (alpha 1)", edges="elu'(0) = 1 (PyTorch, JAX)")
composed("selu", (1, 1),
         lambda b, x: b("mul", b.const(SELU_SCALE),
                        _where_positive(b, x, x, b("mul", b.const(SELU_ALPHA), b("expm1", x)))),
         doc="scale*(x if x > 0 else alpha*expm1(x)), the standard constants",
         edges="selu'(0) = scale*alpha (PyTorch, JAX)")
composed("softsign", (1, 1), lambda b, x: b("div", x, b("add", b.const(1), b("abs", x))),
         doc="x/(1 + abs(x))")
composed("log_sigmoid", (1, 1), lambda b, x: b("neg", b("softplus", b("neg", x))),
         doc="-softplus(-x), stable")
composed("leaky_relu", (1, 2),
         lambda b, x, s=None: _where_positive(b, x, x, b("mul", b.const(0.01) if s is None else s, x)),
         doc="x if x > 0 else s*x (slope s = 0.01 unless given)",
         edges="leaky_relu'(0) = s (PyTorch; JAX gives 1)")
