"""One program line's right-hand side evaluated exactly as the plain-Python run of the
kernel module computes it (same functions, same powers), for ``d.trace``: the numbers a
trace shows are the numbers ``d()`` returns, to the bit."""
import builtins

from symdiff.functions import OPS

from .powers import plain_power


def _function(op, module):
    """The function op's printed form calls, as ``module`` binds it (its table entry says
    where: ``np.<func>``, ``math.<func>``, a helper or a builtin)."""
    if op.python is not None:
        return op.python
    if op.namespace is not None:
        return getattr(getattr(module, op.namespace), op.func)
    return getattr(module, op.func, None) or getattr(builtins, op.func)


def _infix(op):
    return {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
            "div": lambda a, b: a / b}.get(op) or OPS[op].python


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
        return _function(OPS[ex.args[0]], module)(*args)
    if op == "where":
        cond, a, b = ex.args
        return plain_value(a, env, module) if plain_value(cond, env, module) \
            else plain_value(b, env, module)
    if op == "neg":
        return -plain_value(ex.args[0], env, module)
    left, right = (plain_value(a, env, module) for a in ex.args)
    if op == "pow":
        return plain_power(left, right, *ex.args)
    return _infix(op)(left, right)
