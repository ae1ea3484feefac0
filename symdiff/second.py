"""Second-order and multi-output derivatives, built as programs of the same operations.

A gradient program (``reverse.reverse``) is itself a flat program of assignments over the
operations of ``functions.OPS``. This module pushes **tangents** (forward mode) through
such a program, one line at a time, with the operation table's own rules: the tangent of
``y = op(a, b)`` is the sum of ``op``'s contributions with the operands' tangents as the
upstream gradient (``OPS[op].grad(ta, y, a, b)[0] + OPS[op].grad(tb, y, a, b)[1]``). No
per-function code lives here, so a function added to the table gets its second
derivatives for free; no whole-formula ``sympy.diff`` is ever taken.

- JVP: one tangent sweep over the forward lines (about 2x the forward cost).
- Jacobian: one tangent sweep per input over the forward lines (``jacfwd``).
- HVP: one tangent sweep over forward + backward lines (forward-over-reverse, at most
  about 4x the forward cost).
- Hessian: one such sweep per input ``w_k``, keeping only the entries ``H[i][k]`` with
  ``i <= k`` (the other half is the same numbers: symmetric entries are computed once).

Tangents that are zero are never written (a sweep along ``a`` touches only the lines that
depend on ``a``); a tangent that is just a name or a number is used in place (no
``dq_da = x`` line); lines no result needs are dropped; a line whose expression was
already computed reuses that variable.

Names (documented in docs/second-order.md): along an input ``k``, the tangent of a
forward variable ``q`` is ``dq_dk``; of a gradient variable ``dq`` (``df/dq``) it is
``d2f_dq_dk``, so Hessian entries read ``d2f_da_dx``. Along a vector (JVP, HVP) the
tangent of any variable ``v`` is ``v_dot``; the vector's components are the inputs
``x_dot``.

Kinks: a select (``relu``, ``max``, ``min``) keeps its branch, so ``relu'' = 0`` and a
``max``/``min`` tie follows the first-order convention (to the first argument);
``abs' = sign(x)`` has a flat ``sign``, so ``abs''(0) = 0``.
"""
from itertools import count

from .errors import FormulaError
from .expr import Ex, num, var, where
from .functions import OPS
from .reverse import Line, Program

_COMPARE = ("gt", "ge", "lt", "le", "eq")


# -- the tangent of one expression --------------------------------------------------------
def tangent(ex, tan, y=None):
    """The tangent of ``ex`` given the tangents of its variables (``tan``: name -> Ex, a
    missing name has tangent zero), or None when it is zero. ``y``: a variable holding
    ``ex``'s value (rules like ``exp' = y`` then reuse it)."""
    op = ex.op
    if op == "var":
        return tan.get(ex.args[0])
    if op == "num" or op in _COMPARE:
        return None
    if op == "where":   # a select keeps its branch: the kinks' second derivative is 0
        cond, a, b = ex.args
        ta, tb = tangent(a, tan), tangent(b, tan)
        if ta is None and tb is None:
            return None
        return where(cond, num(0.0) if ta is None else ta, num(0.0) if tb is None else tb)
    name, args = (ex.args[0], ex.args[1:]) if op == "call" else (op, ex.args)
    total = None
    for k, a in enumerate(args):
        t = tangent(a, tan)
        if t is None:
            continue
        term = OPS[name].grad(t, ex if y is None else y, *args)[k]
        if term is None:
            continue
        total = term if total is None else total + term
    return total


_FOLD = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
         "neg": lambda a: -a}


def fold(ex):
    """Sums and products of plain numbers folded (``1.0 + 1.0`` -> ``2.0``): the same
    float64 operations the compiled line would do, done once here."""
    if ex.op in ("var", "num"):
        return ex
    if ex.op == "call":
        return Ex("call", ex.args[0], *(fold(a) for a in ex.args[1:]))
    args = [fold(a) if isinstance(a, Ex) else a for a in ex.args]
    if ex.op in _FOLD and all(isinstance(a, Ex) and a.op == "num" and len(a.args) == 1 for a in args):
        import numpy as np
        value = float(_FOLD[ex.op](*(np.float64(a.args[0]) for a in args)))
        if value == value and abs(value) != float("inf"):
            return num(value)
    from .expr import _BUILD
    return _BUILD[ex.op](*args) if ex.op in _BUILD else Ex(ex.op, *args)


def rule_of(ex):
    """The comment for a tangent line: the rule of the expression's outermost operation."""
    op = ex.op
    if op == "call":
        rule = OPS[ex.args[0]].rule
        return "chain rule, " + (rule if isinstance(rule, str) else "; ".join(rule))
    if op == "var":
        return "paths join: add this path"
    return {"add": "sum rule", "sub": "sum rule", "neg": "sum rule", "mul": "product rule",
            "div": "quotient rule", "pow": "power rule",
            "where": "same branch as the line it differentiates"}.get(op, "")


def _trivial(ex):
    return ex.op in ("var", "num") or (ex.op == "neg" and ex.args[0].op in ("var", "num"))


class _Names:
    """Fresh variable names, never one already used by the program or the user."""

    def __init__(self, taken):
        self.taken = set(taken)

    def __call__(self, base):
        candidates = [base] + [f"{base}_{k}" for k in range(2, 10)]
        for c in candidates:
            if c not in self.taken:
                self.taken.add(c)
                return c
        for k in count(10):
            if f"{base}_{k}" not in self.taken:
                self.taken.add(f"{base}_{k}")
                return f"{base}_{k}"


class Partials:
    """Local derivatives of forward function lines, named once and shared by every sweep:
    ``df_dq = f*(1 - f)`` for ``f = sigmoid(q)`` (the backward pass's own rule)."""

    def __init__(self, names):
        self.names = names
        self.lines = []
        self.found = {}

    def tangent(self, line, tan):
        """The tangent of a forward line ``y = fn(v, ...)`` as ``dy_dv*tv + ...``, or None
        where the line is not a call of named variables (``tangent`` handles those)."""
        ex = line.expr
        if ex.op != "call" or not all(a.op == "var" for a in ex.args[1:]):
            return None, False
        total = None
        for k, a in enumerate(ex.args[1:]):
            t = tan.get(a.args[0])
            if t is None:
                continue
            key = (line.target, k)
            if key not in self.found:
                local = OPS[ex.args[0]].grad(num(1.0), var(line.target), *ex.args[1:])[k]
                if local is not None and not _trivial(local) and local.op != "where":
                    name = self.names(f"d{line.target}_d{a.args[0]}")
                    rule = OPS[ex.args[0]].rule
                    self.lines.append(Line(name, local, rule=rule if isinstance(rule, str) else rule[k]))
                    local = var(name)
                self.found[key] = local
            local = self.found[key]
            if local is None:
                continue
            term = local * t if local.op != "where" else OPS[ex.args[0]].grad(t, var(line.target), *ex.args[1:])[k]
            total = term if total is None else total + term
        return total, True


def sweep(lines, seeds, name_of, names, section, forward_count, partials=None, constants=None):
    """One tangent sweep over ``lines`` (``Line``s, in program order), starting from
    ``seeds`` (input name -> tangent Ex). ``name_of(target)``: the base name of the target's
    tangent; ``partials``: a ``Partials`` naming forward lines' local derivatives;
    ``constants``: variables known to be a number (the seed ``df = 1.0``), used in place.
    Returns (new lines, tangent of every variable: name -> Ex or None)."""
    tan = dict(seeds)
    owner = {}          # target -> the tangent variable this sweep assigned for it
    out = []
    for k, line in enumerate(lines):
        is_forward = k < forward_count     # forward targets are assigned once: y = target
        done = False
        if is_forward and partials is not None:
            t, done = partials.tangent(line, tan)
        if not done:
            t = tangent(line.expr, tan, var(line.target) if is_forward else None)
        if t is not None and constants:
            t = t.substitute(constants)
        if t is not None:
            t = fold(t)
        target = line.target
        if not line.accumulate:
            if t is None or _trivial(t):
                tan[target] = t
                continue
            owner[target] = names(name_of(target))
            out.append(Line(owner[target], t, rule=rule_of(line.expr)))
            tan[target] = var(owner[target])
            continue
        if t is None:
            continue
        current = tan.get(target)
        if current is None:
            if _trivial(t):
                tan[target] = t
                continue
            owner[target] = names(name_of(target))
            out.append(Line(owner[target], t, rule=rule_of(line.expr)))
        elif target in owner and current == var(owner[target]):
            out.append(Line(owner[target], t, accumulate=True, rule=rule_of(line.expr)))
        else:
            owner[target] = names(name_of(target))
            out.append(Line(owner[target], current + t, rule="paths join: sum of both"))
        tan[target] = var(owner[target])
    if out:
        out[0] = _with_section(out[0], section)
    return out, tan


def _with_section(line, section):
    return Line(line.target, line.expr, line.accumulate, line.rule, line.upstream, line.local,
                line.of, section)


def finish(body, results):
    """Drop lines no result needs, reuse equal expressions, keep the first line's section."""
    needed = set(results)
    keep = []
    for line in reversed(body):
        if line.target in needed:
            keep.append(line)
            needed |= line.expr.variables()
            if line.accumulate:
                needed.add(line.target)
    keep.reverse()
    # sections moved down to the first kept line of their sweep
    out, pending = [], None
    kept = {id(line) for line in keep}
    for line in body:
        if line.section:
            pending = line.section
        if id(line) in kept:
            if pending and not line.section:
                line = _with_section(line, pending)
            pending = None
            out.append(line)
    # equal right-hand sides computed once: later copies become uses of the first
    accumulated = {l.target for l in out if l.accumulate}
    seen, rename = {}, {}
    final = []
    for line in out:
        expr = _rename(line.expr, rename) if rename else line.expr
        if expr is not line.expr:
            line = Line(line.target, expr, line.accumulate, line.rule, line.upstream, line.local,
                        line.of, line.section)
        if not line.accumulate and line.target not in accumulated and expr.op not in ("var", "num"):
            if expr in seen and line.target not in results:
                rename[line.target] = seen[expr]
                continue
            seen.setdefault(expr, line.target)
        final.append(line)
    return final


def _rename(ex, mapping):
    """``ex`` with variables renamed, structure untouched (no re-simplification, so the
    same float64 operations in the same order); ``ex`` itself where nothing changes."""
    if ex.op == "var":
        return var(mapping[ex.args[0]]) if ex.args[0] in mapping else ex
    if ex.op == "num":
        return ex
    args = tuple(_rename(a, mapping) if isinstance(a, Ex) else a for a in ex.args)
    return ex if all(a is b for a, b in zip(args, ex.args)) else Ex(ex.op, *args)


# -- the four programs ---------------------------------------------------------------------
def _taken(program, extra=()):
    names = set(program.inputs) | set(extra) | {program.output}
    names |= {l.target for l in program.forward + program.backward}
    return names


def _result_lines(names_of, exprs, names):
    """Lines that put each result in its own variable (a number or an alias needs one)."""
    lines, results = [], []
    for base, ex in zip(names_of, exprs):
        if ex is not None and ex.op == "var" and ex.args[0].startswith(base) and ex.args[0] not in results:
            results.append(ex.args[0])
            continue
        target = names(base)
        lines.append(Line(target, num(0.0) if ex is None else ex,
                          rule="zero: no path" if ex is None else "the same value"))
        results.append(target)
    return lines, results


def _seed(base):
    """{seed variable: 1.0} for the backward pass's ``df = 1.0`` (a constant in every sweep)."""
    if base.backward and base.backward[0].expr.is_num(1.0) and base.backward[0].rule.startswith("seed"):
        return {base.backward[0].target: num(1.0)}
    return {}


def user_name(program):
    """The output as the user wrote it: ``g`` for a re-assigned ``g`` printed ``g_2``."""
    import re
    m = re.fullmatch(r"(.+)_(\d+)", program.output)
    if m and re.search(rf"\b{re.escape(m.group(1))}\s*[-+*/]?=", program.text):
        return m.group(1)
    return program.output


def _shown(base):
    """The output for a docstring: ``g (g_2 below)`` where the user re-assigned ``g``."""
    f = user_name(base)
    return f if f == base.output else f"{f} ({base.output} below)"


def hessian_program(base, taken=()):
    """Value, gradient and the Hessian's upper triangle of a first-order program."""
    names = _Names(_taken(base, taken))
    partials = Partials(names)
    f = user_name(base)
    primal_of = dict(base.adjoints)
    n_forward = len(base.forward)
    lines = base.forward + base.backward
    body, entries, bases = [], [], []
    for k, wk in enumerate(base.wrt):
        def name_of(target, wk=wk):
            if target in primal_of:
                return f"d2{f}_d{primal_of[target]}_d{wk}"
            return f"d{target}_d{wk}"
        new, tan = sweep(lines, {wk: num(1.0)}, name_of, names,
                         f"second order: d/d{wk} of every line above that depends on {wk}", n_forward,
                         partials, _seed(base))
        body += new
        for i in range(k + 1):
            entries.append(tan.get(base.grads[i]))
            bases.append(f"d2{f}_d{base.wrt[i]}_d{wk}")
    extra, results = _result_lines(bases, entries, names)
    body = finish(_local_section(partials) + body + extra, results)
    n = len(base.wrt)
    shown = _shown(base)
    returns = (f"Returns {shown}, its gradient ({', '.join(base.grads)}) and its Hessian's entries "
               f"d2{f}_da_db for a up to b in wrt order ({n * (n + 1) // 2}: each symmetric pair once).")
    return Program(base.text, base.inputs, base.wrt, base.output, base.forward, base.backward + tuple(body),
                   base.grads + tuple(results), base.adjoints, returns, base.renamed)


def _local_section(partials):
    if not partials.lines:
        return []
    return [_with_section(partials.lines[0], "local derivatives of the forward lines, shared below")] \
        + partials.lines[1:]


def vector_names(program, taken=()):
    """The names of a vector's components: ``x_dot`` per wrt input ``x``."""
    names = _Names(_taken(program, taken))
    return names, tuple(names(f"{w}_dot") for w in program.wrt)


def hvp_program(base, taken=()):
    """Value, gradient and the Hessian times a vector (forward-over-reverse, one sweep)."""
    names, vec = vector_names(base, taken)
    n_forward = len(base.forward)
    new, tan = sweep(base.forward + base.backward, {w: var(v) for w, v in zip(base.wrt, vec)},
                     lambda t: f"{t}_dot", names,
                     "along the vector (" + ", ".join(vec) + "): d/dt of every line above", n_forward,
                     None, _seed(base))
    extra, results = _result_lines([f"{g}_dot" for g in base.grads], [tan.get(g) for g in base.grads], names)
    body = finish(new + extra, results)
    returns = (f"Returns {_shown(base)}, its gradient ({', '.join(base.grads)}) and the Hessian times "
               f"({', '.join(vec)}): ({', '.join(results)}).")
    return Program(base.text, base.inputs + vec, base.wrt, base.output, base.forward,
                   base.backward + tuple(body), base.grads + tuple(results), base.adjoints, returns,
                   base.renamed)


def jvp_program(base, taken=()):
    """Value and directional derivative along a tangent vector (forward mode, one sweep)."""
    names, vec = vector_names(base, taken)
    new, tan = sweep(base.forward, {w: var(v) for w, v in zip(base.wrt, vec)},
                     lambda t: f"{t}_dot", names,
                     "forward mode along (" + ", ".join(vec) + "): d/dt of every line", len(base.forward))
    extra, results = _result_lines([f"{base.output}_dot"], [tan.get(base.output)], names)
    body = finish(new + extra, results)
    returns = f"Returns {_shown(base)} and its derivative along ({', '.join(vec)}): {results[0]}."
    return Program(base.text, base.inputs + vec, base.wrt, base.output, base.forward, tuple(body),
                   tuple(results), (), returns, base.renamed)


def jacobian_program(base, outputs, taken=()):
    """Values of several outputs and the Jacobian, one forward-mode sweep per wrt input.
    ``base``: a program whose forward lines compute every output (no backward lines);
    ``outputs``: the variables holding them, in order."""
    names = _Names(_taken(base, taken))
    partials = Partials(names) if len(base.wrt) > 1 else None
    body, entries, bases = [], [], []
    for wk in base.wrt:
        new, tan = sweep(base.forward, {wk: num(1.0)}, lambda t, wk=wk: f"d{t}_d{wk}", names,
                         f"forward mode: d/d{wk} of every line that depends on {wk}", len(base.forward),
                         partials)
        body += new
        for o in outputs:
            entries.append(tan.get(o) if o != wk else num(1.0))
    for o in outputs:
        for wk in base.wrt:
            bases.append(f"d{o}_d{wk}")
    entries = [entries[k * len(outputs) + j] for j in range(len(outputs)) for k in range(len(base.wrt))]
    extra, results = _result_lines(bases, entries, names)
    body = finish((_local_section(partials) if partials else []) + body + extra, results + list(outputs))
    returns = (f"Returns the outputs ({', '.join(outputs)}) and the Jacobian, row by row "
               f"(d<output>_d<input>: {len(results)} entries).")
    return Program(base.text, base.inputs, base.wrt, outputs[0], base.forward, tuple(body),
                   tuple(outputs[1:]) + tuple(results), (), returns, base.renamed)


def check_outputs(outputs, available):
    """Output names from a list or a comma-separated string, checked against ``available``."""
    if isinstance(outputs, str):
        outputs = [o.strip() for o in outputs.split(",") if o.strip()]
    outputs = list(outputs)
    if not outputs:
        raise FormulaError("outputs is empty", hint="name one or more outputs: outputs=['r', 'c']")
    for o in outputs:
        if not isinstance(o, str):
            raise FormulaError(f"an output name must be a string, not {type(o).__name__}")
        if o not in available:
            from .parser import closest
            close = closest(o, list(available))
            raise FormulaError(f"unknown output name {o!r}",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "outputs are names of the program: " + ", ".join(available))
    if len(set(outputs)) != len(outputs):
        raise FormulaError("outputs lists a name twice", hint="list each output once")
    return outputs
