"""One program line's right-hand side evaluated exactly as the plain-Python run of the
kernel module computes it (same functions, same powers), for ``d.trace``: the numbers a
trace shows are the numbers ``d()`` returns, to the bit."""
import builtins
import operator

from symdiff.functions import OPS

from .powers import plain_power

_INFIX = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "div": operator.truediv, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
          "le": operator.le, "eq": operator.eq}


def _function(template, module):
    """The function a printed form like ``np.exp({0})`` or ``sigmoid({0})`` calls."""
    head = template.split("(", 1)[0]
    if head.startswith("np."):
        return getattr(module.np, head[3:])
    return getattr(module, head, None) or getattr(builtins, head)


def plain_value(ex, env, module):
    """Value of ``ex`` under ``env`` (names -> numbers) with ``module``'s math
    (``Derivative.python``: vmath's functions, the helpers, powers as compiled)."""
    op = ex.op
    if op == "var":
        return env[ex.args[0]]
    if op == "num":
        return ex.args[0]
    if op == "call":
        args = [plain_value(a, env, module) for a in ex.args[1:]]
        return _function(OPS[ex.args[0]].printed, module)(*args)
    if op == "where":
        cond, a, b = ex.args
        return plain_value(a, env, module) if plain_value(cond, env, module) \
            else plain_value(b, env, module)
    if op == "neg":
        return -plain_value(ex.args[0], env, module)
    left, right = (plain_value(a, env, module) for a in ex.args)
    if op == "pow":
        return plain_power(left, right, *ex.args)
    return _INFIX[op](left, right)
