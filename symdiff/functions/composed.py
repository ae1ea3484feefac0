"""Functions built from ops when called: powers and angles, and sums over any number of
arguments."""
import math

from .record import composed

LN2 = math.log(2.0)
DEG = math.pi / 180.0      # as np.deg2rad multiplies
RAD = 180.0 / math.pi      # as np.rad2deg multiplies


def _fold(name, args, b):
    acc = args[0]
    for a in args[1:]:
        acc = b(name, acc, a)
    return acc


composed("square", (1, 1), lambda b, x: b("pow", x, b.const(2)), aliases=("np.square",),
         doc="x**2")
composed("radians", (1, 1), lambda b, x: b("mul", x, b.const(DEG)),
         aliases=("math.radians", "np.radians", "np.deg2rad"), doc="x*(pi/180)")
composed("degrees", (1, 1), lambda b, x: b("mul", x, b.const(RAD)),
         aliases=("math.degrees", "np.degrees", "np.rad2deg"), doc="x*(180/pi)")
composed("sum", (1, None), lambda b, *args: _fold("add", args, b), doc="a + b + ...")
composed("mean", (1, None),
         lambda b, *args: b("div", _fold("add", args, b), b.const(len(args))),
         doc="(a + b + ...)/n")
composed("logsumexp", (1, None), lambda b, *args: _fold("logaddexp", args, b),
         doc="log(exp(a) + exp(b) + ...), stable: logaddexp folded over the arguments",
         edges="logsumexp(1000, 999) is finite; -inf arguments add nothing")
composed("logaddexp2", (2, 2),
         lambda b, x, y: b("div", b("logaddexp", b("mul", x, b.const(LN2)), b("mul", y, b.const(LN2))),
                           b.const(LN2)),
         aliases=("np.logaddexp2",), doc="log2(2**a + 2**b), stable")
composed("sinc", (1, 1),
         lambda b, x: b("where", b("eq", x, b.const(0)), b.const(1.0),
                        b("div", b("sin", b("mul", x, b.const(math.pi))), b("mul", x, b.const(math.pi)))),
         aliases=("np.sinc",), doc="sin(pi*x)/(pi*x), 1 at 0 (NumPy's normalized sinc)")
