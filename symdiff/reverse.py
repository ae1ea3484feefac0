"""The explicit reverse-mode pass: graph -> a plain program of assignments.

The program is what every emitter reads: forward lines (one per materialized node, named
after the user's intermediates), then backward lines, one local rule each, in reverse
order, with ``+=`` where paths join. No whole-formula ``sympy.diff`` is ever taken, so the
gradient stays within a small constant of the forward graph's size.

Readability: an unnamed, single-use product or sum is folded into the line that uses it
(``q = a*x + b*y + c`` rather than three lines), up to ``LINE_OPS`` operations per line.
Its gradient then goes straight to its operands (``da = x*dq``), as in the "Becoming a
Backprop Ninja" code of the Hacker's guide. A call's argument folds the same way
(``t2 = relu(b - a)``, not ``t1 = b - a; t2 = relu(t1)``) when the function's rule needs
only its output (``relu: 1 if y > 0 else 0``, ``exp: y``; not ``log: 1/x``) and the
argument has at most ``CALL_OPERANDS`` operands, so the call's local derivative is written
at most that often in the gradient lines (``db = (dt2 if t2 > 0 else 0.0)``,
``da = -(dt2 if t2 > 0 else 0.0)``); a longer argument keeps its line and its one gradient
(``dt1 = f*(1 - f)*df; da = x*dt1; ...``).
"""
import functools
import keyword
from dataclasses import dataclass
from itertools import chain, count

from .errors import FormulaError
from .expr import Ex, var, num
from .functions import HELPERS, OPS
from .parser import RESERVED, RESERVED_PREFIX

LINE_OPS = 8
CALL_OPERANDS = 2   # a call's folded argument passes the gradient to at most this many operands
# names generated code uses inside a function: a variable must not take them
CODE_NAMES = set(RESERVED) | set(HELPERS) | {"abs", "float"}
_FOLDS_INTO = {  # which operations may be folded into which consumer
    "add": {"add", "sub", "mul", "neg", "pow"},
    "sub": {"add", "sub", "mul", "neg", "pow"},
    "mul": {"mul", "neg", "pow"},
    "neg": {"mul", "pow"},
}
_INLINE = set().union(*_FOLDS_INTO.values())   # what may fold into a call's argument


@dataclass(frozen=True)
class Line:
    target: str
    expr: Ex
    accumulate: bool = False    # True: "target += expr"
    rule: str = ""              # the rule this line applies (comment text)
    upstream: str = None        # backward: the gradient variable the rule multiplies
    local: Ex = None            # backward: the local derivative (expr with upstream = 1)
    of: int = None              # backward: index of the forward line it differentiates
    section: str = None         # a comment printed on its own line before this one


@dataclass(frozen=True)
class Program:
    text: str                   # the formula, for docstrings
    inputs: tuple               # input names, in order of first appearance
    wrt: tuple                  # inputs we differentiate with respect to
    output: str                 # variable that holds the value
    forward: tuple              # Lines
    backward: tuple             # Lines
    grads: tuple                # gradient variable per wrt name
    adjoints: tuple = ()        # (gradient variable, the variable it is the gradient of)
    returns: str = None         # what the results are, for docstrings (None: value and gradient)
    renamed: tuple = ()         # (name in code, user's name) for inputs whose name the
                                # generated code cannot use (a keyword, np, a helper's name)

    def forward_ops(self):
        return sum(line.expr.count_ops() for line in self.forward)

    def backward_ops(self):
        return sum(line.expr.count_ops() for line in self.backward)


def reverse(graph, root, text, wrt=None, output_name=None, taken=()):
    """Build the forward/backward program of ``root`` with respect to ``wrt``."""
    inputs = tuple(graph.inputs)
    if wrt is not None and not tuple(wrt) and inputs:
        raise FormulaError("wrt names no input: there is nothing to differentiate with respect to",
                           hint="leave wrt out for every input (" + ", ".join(inputs) + "), or name some: wrt=\""
                           + inputs[0] + "\"")
    wrt = _check_wrt(graph, inputs, inputs if wrt is None else tuple(wrt))
    live, uses, needs = _usage(graph, root, wrt)
    folded, lines_of = _lines(graph, root, live, uses)
    name, grad_name = _names(graph, root, inputs, live, lines_of, output_name, taken)
    ex_of = _expressions(graph.nodes, name)
    forward, line_index = _forward(graph.nodes, lines_of, name, ex_of)
    output = name[root]
    backward = _backward(graph, root, wrt, output, uses, needs, folded, lines_of, line_index,
                         name, grad_name, ex_of)
    code = {n: name[graph.inputs[n]] for n in inputs}
    return Program(text, tuple(code[n] for n in inputs), tuple(code[w] for w in wrt), output,
                   tuple(forward), tuple(combine(backward)),
                   tuple(grad_name[graph.inputs[w]] for w in wrt),
                   tuple((g, name[i]) for i, g in grad_name.items()), None,
                   tuple((code[n], n) for n in inputs if code[n] != n))


def _check_wrt(graph, inputs, wrt):
    """``wrt`` as given, once each, all of them inputs (else a FormulaError with a hint)."""
    for w in wrt:
        if w not in graph.inputs and any(w in n.names for n in graph.nodes):
            raise FormulaError(f"wrt name {w!r} is an intermediate of the formula, not an input",
                               hint="gradients are taken with respect to inputs: " + ", ".join(inputs))
        if w not in graph.inputs:
            from .parser import closest
            close = closest(str(w), inputs)
            raise FormulaError(f"wrt name {w!r} is not an input of the formula",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "inputs: " + ", ".join(inputs))
    if len(set(wrt)) != len(wrt):
        raise FormulaError("wrt lists a name twice", hint="list each input once")
    return wrt


def _usage(graph, root, wrt):
    """The live nodes (sorted), how often each is used, and which need a gradient."""
    nodes = graph.nodes
    live = sorted(graph.live(root))
    uses = {i: 0 for i in live}
    for i in live:
        for a in nodes[i].args:
            uses[a] += 1
    wanted = {graph.inputs[w] for w in wrt}
    needs = {}
    for i in live:
        needs[i] = i in wanted or any(needs[a] for a in nodes[i].args)
    return live, uses, needs


def _lines(graph, root, live, uses):
    """Which nodes get a line of their own; the others (``folded``) print inside their
    single user's line, up to LINE_OPS operations per line."""
    nodes = graph.nodes
    folded, size, operands = set(), {}, {}
    for i in live:
        node = nodes[i]
        if node.op in ("input", "const"):
            continue
        size[i] = 1
        operands[i] = sum(nodes[a].op != "const" for a in node.args)  # gradient-taking slots
        products = 0    # a product folded into a product: at most a*b*c per line, since each
        for a in node.args:   # factor's gradient is the product of all the others
            child = nodes[a]
            if not (_foldable(graph, child, uses[a]) and size[i] + size[a] <= LINE_OPS):
                continue
            if _rule_of_output(node.op):
                if operands[a] > CALL_OPERANDS:
                    continue
            elif (child.op not in _FOLDS_INTO.get(node.op, ())
                  or (node.op == "mul" and child.op == "mul" and (products or size[a] > 1))):
                continue
            folded.add(a)
            size[i] += size[a]
            operands[i] += operands[a] - 1
            products += node.op == "mul" and child.op == "mul"
    lines_of = [i for i in live if nodes[i].op not in ("input", "const") and i not in folded]
    if nodes[root].op == "const":
        lines_of.append(root)
    return folded, lines_of


def _foldable(graph, child, uses):
    """An unnamed sum, product or constant power used once: it may print inside its user."""
    return (child.op in _INLINE and not child.names and uses == 1 and OPS[child.op].inline
            and _const_exponent(graph, child))


@functools.lru_cache(maxsize=None)
def _rule_of_output(op):
    """Whether ``op`` is a function call of one argument whose rule needs only its output
    (``exp: y``, ``relu: 1 if y > 0 else 0``), so its argument may print inside the call."""
    entry = OPS[op]
    if entry.arity != 1 or entry.func is None:
        return False
    x = var("<argument>")
    return not any(c is not None and "<argument>" in c.variables()
                   for c in entry.grad(var("<g>"), var("<y>"), x))


def _names(graph, root, inputs, live, lines_of, output_name, taken):
    """A variable name for every line and input (the user's where given, else f, t1, t2...),
    and a gradient name for each (dq, d_q... whichever is free)."""
    nodes = graph.nodes
    taken = set(taken) | set(inputs) | CODE_NAMES
    taken |= {n for i in live for n in nodes[i].names}
    name = {}
    for n in inputs:   # a keyword, np or a helper's name cannot be a variable: n_ instead
        name[graph.inputs[n]] = n if _code_usable(n) else _fresh_name(n, taken)
    out_name = output_name if output_name and nodes[root].op != "input" else None

    def fresh(candidates):
        """The first candidate not taken yet (candidates is a lazy, endless iterable)."""
        for c in candidates:
            if c not in taken:
                taken.add(c)
                return c

    temp = 0
    for i in lines_of:
        node = nodes[i]
        if node.names:
            name[i] = node.names[0]
        elif i == root:
            name[i] = out_name or fresh(chain(["f", "out", "value"], (f"f_{k}" for k in count(1))))
        else:
            temp += 1
            while f"t{temp}" in taken:
                temp += 1
            name[i] = fresh([f"t{temp}"])
    grad_name = {}
    for i in [graph.inputs[n] for n in inputs] + lines_of:
        v = name[i]
        grad_name[i] = fresh(chain((p + v for p in ("d", "d_", "d__", "grad_")),
                                   (f"d{k}_{v}" for k in count(1))))
    return name, grad_name


def _code_usable(name):
    return not keyword.iskeyword(name) and name not in CODE_NAMES and not name.startswith(RESERVED_PREFIX)


def _fresh_name(name, taken):
    candidate = name.lstrip("_") + "_"
    while candidate in taken or not _code_usable(candidate):
        candidate += "_"
    taken.add(candidate)
    return candidate


def _expressions(nodes, name):
    """``ex_of(i)``: node i as it appears where it is used (a name, a number, or its
    folded expression)."""
    def ex_of(i):
        node = nodes[i]
        if node.op == "const":
            return Ex("num", node.value, node.text) if node.text else Ex("num", node.value)
        if i in name:
            return var(name[i])
        return _line_ex(nodes, i, ex_of)
    return ex_of


def _line_ex(nodes, i, ex_of):
    """The right-hand side of node i's own line."""
    node = nodes[i]
    args = [ex_of(a) for a in node.args]
    if OPS[node.op].printed is not None:
        return Ex("call", node.op, *args)
    return Ex(node.op, *args)


def _forward(nodes, lines_of, name, ex_of):
    forward, line_index = [], {}
    for i in lines_of:
        line_index[i] = len(forward)
        expr = ex_of(i) if nodes[i].op == "const" else _line_ex(nodes, i, ex_of)
        forward.append(Line(name[i], expr))
    return forward, line_index


def _backward(graph, root, wrt, output, uses, needs, folded, lines_of, line_index, name,
              grad_name, ex_of):
    """One line per local rule, lines in reverse order, ``+=`` where paths join; through a
    folded sub-expression the gradient goes straight to its operands."""
    nodes = graph.nodes
    backward, started = [], set()
    if needs[root]:
        backward.append(Line(grad_name[root], num(1.0), rule=f"seed: d{output}/d{output} = 1"))
        started.add(root)
    for i in reversed(lines_of):
        if not needs[i] or i not in started or nodes[i].op == "const":
            continue
        upstream = grad_name[i]
        stack = [(_contributions(nodes, i, var(upstream), name, ex_of), ())]
        while stack:   # depth-first, operands in order, through folded sub-expressions
            steps, path = stack[-1]   # path: the rules from a call's line down to here
            step = next(steps, None)
            if step is None:
                stack.pop()
                continue
            a, contribution, rule = step
            if contribution is None or not needs[a]:
                continue
            if a in folded:
                through = path or (len(stack) == 1 and _rule_of_output(nodes[i].op))
                stack.append((_contributions(nodes, a, contribution, name, ex_of),
                              path + (rule,) if through else ()))
                continue
            rule = _path_rule(path, rule)
            local = contribution.substitute({upstream: num(1.0)})
            backward.append(Line(grad_name[a], contribution, a in started, rule,
                                 upstream, local, line_index[i]))
            started.add(a)
    for w in wrt:
        i = graph.inputs[w]
        if i not in started:
            why = "does not affect" if i not in uses else "has zero gradient in"
            backward.append(Line(grad_name[i], num(0.0), rule=f"{w} {why} {output}"))
    return backward


def combine(lines):
    """Contributions of one forward line to one gradient, written as one statement:
    ``dd_2 = dd_3; dd_2 += 3*dd_3`` becomes ``dd_2 = dd_3 + 3*dd_3`` (the same additions in
    the same order, so the same float64 result). Only a plain assignment followed by ``+=``
    lines of the same forward line and upstream merge, where one of them passes the upstream
    through (``da = a*dx; da += a*dx`` stays as the Hacker's guide writes it); ``x += a;
    x += b`` stays as it is, since ``x + (a + b)`` would round differently."""
    out = []
    for line in lines:
        last = out[-1] if out else None
        if (last is not None and line.accumulate and not last.accumulate and last.target == line.target
                and last.of is not None and last.of == line.of and last.upstream == line.upstream
                and last.local is not None and line.local is not None
                and any(l.local.is_num(1) or l.local.is_num(1.0) for l in (last, line))):
            names = [r.split(":")[0] for r in (last.rule, line.rule)]
            rule = ", ".join(dict.fromkeys(names)) + ": " + "; ".join(
                r.split(":", 1)[1].strip() for r in (last.rule, line.rule))
            out[-1] = Line(last.target, Ex("add", last.expr, line.expr), False, rule, last.upstream,
                           Ex("add", last.local, line.local), last.of)
            continue
        out.append(line)
    return out


def _path_rule(path, rule):
    """The rule of a gradient line through a call's folded argument: the call's, and the
    inner operations that do more than pass the gradient on (``exp: y, through neg``)."""
    if not path:
        return str(rule)
    inner = [r.split(":")[0] for r in path[1:] + (rule,) if not isinstance(r, _Passes)]
    return str(path[0]) + (", through " + ", ".join(dict.fromkeys(inner)) if inner else "")


def _contributions(nodes, j, g, name, ex_of):
    """(operand, contribution, rule) for node j with upstream gradient g; a rule that
    passes g on unchanged is a ``_Passes`` (its name is left out of a folded call's
    comment)."""
    node = nodes[j]
    op = OPS[node.op]
    contributions = op.grad(g, var(name[j]) if j in name else None,
                            *[ex_of(a) for a in node.args])
    return iter([(a, c, rule if c != g else _Passes(rule))
                 for a, c, rule in zip(node.args, contributions, op.rules())])


class _Passes(str):
    """A rule that passed the gradient on unchanged (``add: gradient passes through``)."""


def _const_exponent(graph, node):
    """pow folds into a line only with a constant exponent (its rule then needs no y)."""
    return node.op != "pow" or graph.nodes[node.args[1]].op == "const"
