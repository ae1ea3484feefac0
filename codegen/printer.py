"""Print symdiff programs as Python source: readable, deterministic, byte-stable.

Reads only ``symdiff``'s plain program (lines of ``Ex`` expressions) and the printed forms
in its operation table; knows nothing of Numba. The same program always prints the same
bytes.
"""
import math

from symdiff.functions import HELPERS, OPS, imports_of

from .codenames import for_code

COMMENT_COLUMN = 36


def number(value, text=None):
    if text:
        return text
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(float(value))


def pyexpr(ex):
    """Python source for an expression, with only the parentheses it needs."""
    return _print(ex)[0]


def _print(ex):
    """(text, precedence)."""
    op = ex.op
    if op == "var":
        return ex.args[0], 6
    if op == "num":
        text = number(*ex.args)
        return text, 4 if text.startswith("-") else 6
    if op == "call":
        template = OPS[ex.args[0]].printed
        return template.format(*(_print(a)[0] for a in ex.args[1:])), 6
    if op == "where":
        cond, a, b = (_print(x)[0] for x in ex.args)
        return f"({a} if {cond} else {b})", 6
    if op == "neg":
        inner, p = _print(ex.args[0])
        if p == 3 and ex.args[0].op in ("mul", "div") and not inner.startswith("-"):
            return "-" + inner, 3          # -(a*b) == (-a)*b exactly; print it plainly
        return ("-" + inner, 4) if p >= 5 else (f"-({inner})", 4)
    if op == "add" and ex.args[1].op == "neg":   # a + -b prints a - b (the same float64 result)
        return _print(type(ex)("sub", ex.args[0], ex.args[1].args[0]))
    symbol, prec = _infix(op)
    left, lp = _print(ex.args[0])
    right, rp = _print(ex.args[1])
    if op == "pow":       # right-associative; a negative or compound base needs parentheses
        left = left if lp > prec else f"({left})"
        right = right if rp >= 4 else f"({right})"
    else:                 # left-associative: same precedence on the right keeps parentheses
        left = left if lp >= prec else f"({left})"
        right = right if rp > prec else f"({right})"
    return left + symbol + right, prec


def _infix(op):
    """(symbol, precedence) of an infix op: arithmetic from the table; a comparison in a
    condition (``a > b``, in rules' selects) binds loosest."""
    entry = OPS[op]
    return (entry.symbol, entry.precedence) if entry.symbol else (f" {entry.label} ", 1)


def helpers_used(program, with_grad=True):
    """Names of HELPERS the program's lines call, in a fixed order."""
    lines = program.forward + (program.backward if with_grad else ())
    called = set()
    for line in lines:
        called |= line.expr.calls()
    wanted = {OPS[c].helper for c in called if OPS[c].helper}
    return [h for h in HELPERS if h in wanted]


def imports_used(program, with_grad=True):
    """Modules besides numpy that the program's lines need ("math" for math.erf)."""
    lines = program.forward + (program.backward if with_grad else ())
    return imports_of(set().union(*(line.expr.calls() for line in lines)))


def header(program, with_grad=True):
    """The import lines a module holding the program starts with."""
    extra = "".join(f"import {m}\n" for m in imports_used(program, with_grad))
    return (extra + "\n" if extra else "") + "import numpy as np\n"


def docstring(program, limit=12):
    """The formula as the docstring's first lines (comments dropped, long text cut)."""
    import re
    text = re.sub(r"#[^\n]*", "", program.text).replace("\\\n", " ")
    statements = [" ".join(s.split()) for s in re.split(r"[;\n]", text)]
    statements = [s for s in statements if s]
    if len(statements) == 1 and "=" not in statements[0].replace("==", ""):
        statements = [f"{program.output} = {statements[0]}"]
    statements = [s if len(s) <= 100 else s[:97] + "..." for s in statements]
    if len(statements) > limit:
        statements = statements[:limit - 1] + [f"... ({len(statements) - limit + 1} more lines)"]
    return "\n    ".join(statements).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def comment(line):
    """A backward line's comment: its rule's name and the concrete local derivative
    (``de = 2*e*df  # pow: 2*e``); none where the gradient just passes through (``dc = dq``,
    ``dd = -de``: the code says it all). Lines without a local derivative keep their rule."""
    if line.local is None:
        return line.rule
    if line.local.is_num(1) or line.local.is_num(1.0) or line.local.is_num(-1) or line.local.is_num(-1.0):
        return ""
    return f"{line.rule.split(':')[0]}: {pyexpr(line.local)}"


def _output_name(program):
    """``g`` for a re-assigned output ``g`` (printed ``g_2``), as the user wrote it."""
    from symdiff.second import user_name
    name = user_name(program)
    return name if name == program.output else f"{name} ({program.output} below)"


def _with_comment(code, comment):
    if not comment:
        return code
    return f"{code.ljust(COMMENT_COLUMN)}  # {comment}" if len(code) < COMMENT_COLUMN \
        else f"{code}  # {comment}"


def function_source(program, name="value_and_grad", with_grad=True):
    """One Python function: forward lines, then (with_grad) the backward sweep."""
    params = ", ".join(program.inputs)
    out = [f"def {name}({params}):"]
    doc = docstring(program)
    if with_grad:
        grads = ", ".join(program.grads)
        returns = program.returns or f"Returns {_output_name(program)} and its gradient ({grads})."
        out.append(f'    """{doc}\n\n    {returns}"""')
    else:
        out.append(f'    """{doc}\n\n    Returns {_output_name(program)} (no gradient)."""')
    out.append("    # forward")
    for line in program.forward:
        out.append(f"    {line.target} = {pyexpr(line.expr)}")
    if with_grad:
        if not (program.backward and program.backward[0].section):
            out.append("    # backward")
        group = None
        for line in program.backward:
            if line.section:
                out.append(f"    # {line.section}")
            if line.of is not None and line.of != group:
                group = line.of
                fwd = program.forward[group]
                header = f"{fwd.target} = {pyexpr(fwd.expr)}"
                out.append(f"    # {header if len(header) <= 88 else header[:85] + '...'}")
            op, expr = ("+=" if line.accumulate else "="), line.expr
            if line.accumulate and expr.op == "neg":   # x += -y prints x -= y: the same float64 result
                op, expr = "-=", expr.args[0]
            out.append("    " + _with_comment(f"{line.target} {op} {pyexpr(expr)}", comment(line)))
        results = (program.output,) + program.grads
        out.append(f"    return {', '.join(results)}{',' if len(results) == 1 else ''}")
    else:
        out.append(f"    return {program.output}")
    return "\n".join(out) + "\n"


def readable_source(program):
    """What ``d.source`` shows: the helpers it calls, then value_and_grad."""
    program = for_code(program, shorten=False)   # a symbol named lambda is printed lambda_
    parts = [header(program)]
    for h in helpers_used(program):
        parts.append(HELPERS[h] + "\n")
    parts.append(function_source(program))
    return "\n\n".join(parts)
