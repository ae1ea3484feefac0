"""Formula text -> graph, without ever evaluating the text.

A regular-expression lexer and an iterative operator-precedence (shunting-yard) parser.
Python's own ``ast.parse`` cannot do this job: a 3,000-term sum overflows its recursion
and more than 200 nested parentheses are a SyntaxError. ``tokenize`` is no better on
Python 3.12+, where it runs the C tokenizer and inherits the same 200-level limit. Every
token keeps its line and column, so every error can point at its place.

Language: numbers (``2``, ``2.5e-3``), names, ``+ - * / % **``, unary ``-``/``+``,
comparisons ``< <= > >= == !=`` (1.0 or 0.0), ``and``/``or``/``not``, ``a if c else b``,
parentheses, calls of the functions in ``functions.FUNCTIONS``, constants ``pi`` and ``e``
(unless assigned), and programs of statements ``name = expr`` (or ``+= -= *= /= %= **=``)
separated by newlines or ``;``. The last statement is the output; re-assignment means
what it means in Python. ``#`` starts a comment. Precedence is Python's.
"""
import keyword
import re
import unicodedata
from dataclasses import dataclass

from .errors import FormulaError
from .functions import ALIASES, CONSTANTS, FUNCTIONS
from .graph import Graph
from .names import RESERVED, RESERVED_PREFIX, check_text

_TOKEN = re.compile(r"""
   (?P<ws>[ \t\f\r]+|\\\r?\n)
  |(?P<comment>\#[^\n]*)
  |(?P<nl>\n)
  |(?P<bad>//|:=|->|<<|>>)
  |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  |(?P<name>[^\W\d]\w*)
  |(?P<op>\*\*=|\*\*|==|!=|<=|>=|[-+*/%]=|[-+*/%()=,;<>])
""", re.VERBOSE)

_BAD_CHARS = {
    "'": ("strings are not allowed in formulas", "formulas hold numbers, names and operators"),
    '"': ("strings are not allowed in formulas", "formulas hold numbers, names and operators"),
    ".": ("attribute access is not allowed", "write functions by name: exp(x), not math.exp(x)"),
    "[": ("subscripts and lists are not allowed", "name each value: x0, x1, ..."),
    "]": ("subscripts and lists are not allowed", "name each value: x0, x1, ..."),
    "{": ("sets and dicts are not allowed", None),
    "}": ("sets and dicts are not allowed", None),
    ":": ("':' is not allowed (no slices, lambdas or annotations)", None),
    "^": ("'^' is not a power operator here", "use ** for powers: x**2"),
    "@": ("operator '@' is not supported", "formulas use + - * / ** and functions"),
    "!": ("operator '!' is not supported", "use != or not"),
    "|": ("operator '|' is not supported", None),
    "&": ("operator '&' is not supported", None),
    "~": ("operator '~' is not supported", None),
}

_KEYWORD_HINTS = {
    "lambda": "lambdas are not allowed",
    "import": "imports are not allowed",
    "from": "imports are not allowed",
    "for": "comprehensions and loops are not allowed",
    "while": "loops are not allowed",
    "if": "'if' needs a value before it and an 'else' after: a if c else b",
    "else": "'else' needs 'a if c' before it: a if c else b",
    "def": "function definitions are not allowed; pass a Python function to differentiate() instead",
}

# Python's precedence, low to high: a if c else b, or, and, not, comparisons, + -, * / %,
# unary - +, **
_COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_BINARY = {"or": ("or", 1), "and": ("and", 2), **{t: (op, 4) for t, op in _COMPARISONS.items()},
           "+": ("add", 5), "-": ("sub", 5), "*": ("mul", 6), "/": ("div", 6), "%": ("mod", 6),
           "**": ("pow", 8)}
_UNARY = {"-": ("neg", 7), "+": ("pos", 7), "not": ("not", 3)}
_AUGMENTED = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div", "%=": "mod", "**=": "pow"}
_CONDITIONAL = ("if", "else")


@dataclass
class Token:
    kind: str      # num, name, op, sep, end, or error (text is the message)
    text: str
    line: int
    col: int
    hint: str = None


_BAD_PAIRS = {
    "//": ("operator '//' is not supported", "use / for division"),
    ":=": ("':=' is not allowed", "use one assignment per statement: q = a*x"),
    "->": ("'->' is not allowed", None),
    "<<": ("operator '<<' is not supported", None),
    ">>": ("operator '>>' is not supported", None),
}


@dataclass
class Parsed:
    graph: Graph
    root: int
    output_name: str      # the user's name for the output, or None for a bare expression
    text: str
    taken: set            # every name the text uses, plus version names given out
    outputs: tuple = None  # a final ``r, c, s``: ((name, printed name, node id), ...)
    env: dict = None       # each assigned name -> its node id (the latest value)


class _Errors:
    def __init__(self, text):
        self.text = text

    def __call__(self, message, tok_or_pos, hint=None):
        line, col = (tok_or_pos.line, tok_or_pos.col) if isinstance(tok_or_pos, Token) else tok_or_pos
        return FormulaError(message, self.text, line, col, hint)


def tokenize(text):
    """Tokens of ``text``; newlines inside parentheses are dropped (implicit joining)."""
    err = _Errors(text)
    check_text(text)   # no control characters, even in comments: they could reach generated code
    tokens, depth, opens = [], 0, []
    line, line_start, i, n = 1, 0, 0, len(text)
    while i < n:
        m = _TOKEN.match(text, i)
        col = i - line_start + 1
        if m is None:   # an error token: the parser raises it when it gets there
            ch = text[i]
            message, hint = _BAD_CHARS.get(ch, (f"unexpected character {ch!r}", None))
            if message.startswith("unexpected") and (ord(ch) > 127 or not ch.isprintable()):
                message = f"unexpected character {ch!r} (U+{ord(ch):04X})"
            tokens.append(Token("error", message, line, col, hint))
            i += 1
            continue
        kind, tok = m.lastgroup, m.group()
        if kind == "bad":
            message, hint = _BAD_PAIRS[tok]
            tokens.append(Token("error", message, line, col, hint))
        elif kind == "num":
            after = text[m.end():m.end() + 1]
            if after and (after.isalnum() or after in "._"):
                tokens.append(Token("error", f"malformed number {tok + after!r}", line, col,
                                    "put an operator between a number and a name: 2*x"
                                    if after.isalpha() else "numbers look like 3, 0.5 or 2.5e-3"))
            else:
                tokens.append(Token("num", tok, line, col))
        elif kind == "name":
            name = unicodedata.normalize("NFKC", tok)   # as Python itself reads identifiers
            if tok.isidentifier() and name.isidentifier():
                tokens.append(Token("name", name, line, col))
            else:
                tokens.append(Token("error", f"{tok!r} is not a valid name", line, col,
                                    "names are letters, digits and _, starting with a letter"))
        elif kind == "op":
            if tok == "(":
                depth += 1
                opens.append((line, col))
            elif tok == ")":
                if depth == 0:
                    raise err("unmatched ')'", (line, col), "remove it or add a '(' before it")
                depth -= 1
                opens.pop()
            tokens.append(Token("sep" if tok == ";" else "op", tok, line, col))
        elif kind == "nl":
            if depth == 0:
                tokens.append(Token("sep", "\n", line, col))
        if kind == "nl" or (kind == "ws" and tok.startswith("\\")):
            line += 1
            line_start = m.end()
        i = m.end()
    if depth:
        raise err("'(' was never closed", opens[-1], "add the missing ')'")
    tokens.append(Token("end", "", line, n - line_start + 1))
    return tokens


def parse(text, outputs=False):
    """Parse formula or program text into a graph. Raises FormulaError on any bad input.

    ``outputs``: whether a final statement may be a tuple of names (``r, c, s``: a program
    with several outputs, for ``symdiff.jacobian``)."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string or a sympy.Expr, not {type(text).__name__}")
    err = _Errors(text)
    tokens = tokenize(text)
    statements, current = [], []
    for tok in tokens:
        if tok.kind in ("sep", "end"):
            if current:
                statements.append(current)
            current = []
        else:
            current.append(tok)
    if not statements:
        raise FormulaError("empty formula", hint="write an expression like sigmoid(a*x + b)")

    taken = {t.text for t in tokens if t.kind == "name"}
    graph, env, versions = Graph(), {}, {}
    root, output_name = None, None
    for k, stmt in enumerate(statements):
        last = k == len(statements) - 1
        target = None
        if stmt[0].kind == "error":
            raise err(stmt[0].text, stmt[0], stmt[0].hint)
        if last and _top_level_comma(_unwrapped(stmt)):      # r, c, s  or  (r, c, s)
            outs = _output_tuple(_unwrapped(stmt), graph, env, versions, err, outputs)
            return Parsed(graph, outs[-1][2], outs[-1][1], text, taken, outs, env)
        if len(stmt) >= 2 and stmt[1].kind == "op" and (stmt[1].text == "=" or stmt[1].text in _AUGMENTED):
            target = stmt[0]
            _check_target(target, err)
            body = stmt[2:]
            if not body:
                raise err(f"nothing after '{stmt[1].text}'", stmt[1], f"write {target.text} {stmt[1].text} <expression>")
            if stmt[1].text in _AUGMENTED:
                if target.text not in env and target.text in FUNCTIONS:
                    raise err(f"'{target.text}' is a function", target)
                current_value = _lookup(target, graph, env, err)
                value = graph.apply(_AUGMENTED[stmt[1].text],
                                    (current_value, _expression(body, graph, env, err)),
                                    (stmt[1].line, stmt[1].col))
            else:
                value = _expression(body, graph, env, err)
        else:
            if not last:
                raise err("this line computes a value and throws it away", stmt[0],
                          "assign it to a name (q = ...); only the last line may be a bare expression")
            value = _expression(stmt, graph, env, err)
        if target is not None:
            name = target.text
            if name in env or name in graph.inputs:      # re-assignment: a new version
                versions[name] = versions.get(name, 1) + 1
                display = f"{name}_{versions[name]}"
                while display in taken:
                    versions[name] += 1
                    display = f"{name}_{versions[name]}"
                taken.add(display)
            else:
                display = name
            env[name] = value
            node = graph.nodes[value]
            if node.op not in ("input", "const") and not node.names:
                graph.name(value, display)
            output_name = display
        else:
            output_name = None
        root = value
    return Parsed(graph, root, output_name, text, taken, None, env)


def _unwrapped(stmt):
    """A statement without parentheses around all of it: ``(r, c, s)`` -> ``r, c, s``."""
    while len(stmt) > 2 and stmt[0].text == "(" and stmt[-1].text == ")":
        depth = 0
        for k, t in enumerate(stmt):
            depth += (t.text == "(") - (t.text == ")")
            if depth == 0 and k < len(stmt) - 1:
                return stmt          # (a + b)*(c + d): the first ')' closes early
        stmt = stmt[1:-1]
    return stmt


def _top_level_comma(stmt):
    """Whether a statement has a ',' outside parentheses (a tuple of outputs: ``r, c, s``)."""
    depth = 0
    for t in stmt:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        elif t.text == "," and depth == 0:
            return True
    return False


def _output_tuple(stmt, graph, env, versions, err, allowed):
    """A final ``r, c, s``: the program's outputs, each a name assigned earlier (or an input)."""
    if not allowed:
        raise err("a final tuple of names means several outputs", next(t for t in stmt if t.text == ","),
                  "differentiate takes one output; for several use symdiff.jacobian(...)")
    names = stmt[0::2]
    for k, tok in enumerate(stmt):
        if (k % 2 == 0 and tok.kind != "name") or (k % 2 == 1 and tok.text != ","):
            raise err("a final tuple lists output names only, like: r, c, s", tok,
                      "compute each output on its own line: s = y/r")
    seen, outs = set(), []
    for tok in names:
        name = tok.text
        if name in seen:
            raise err(f"output {name!r} is listed twice", tok, "list each output once")
        seen.add(name)
        if name in env:
            node = env[name]
            display = name if name not in versions else f"{name}_{versions[name]}"
        elif name in graph.inputs:
            node, display = graph.inputs[name], name
        else:
            close = closest(name, list(env))
            raise err(f"unknown output name {name!r}", tok,
                      (f"did you mean {close!r}? " if close else "")
                      + "outputs are names assigned above: " + (", ".join(env) or "(none)"))
        outs.append((name, display, node))
    return tuple(outs)


def _check_target(tok, err):
    if tok.kind != "name":
        raise err(f"cannot assign to {tok.text!r}", tok, "the left of '=' must be a name")
    _check_name(tok, err)
    if tok.text in FUNCTIONS:
        raise err(f"'{tok.text}' is a function and cannot be assigned", tok, f"use another name, like {tok.text}_")


def _check_name(tok, err):
    name = tok.text
    if keyword.iskeyword(name):
        raise err(_KEYWORD_HINTS.get(name, f"'{name}' is a Python keyword and cannot be used in formulas"),
                  tok, "formulas hold numbers, names, + - * / ** and function calls")
    if name.startswith("__"):
        raise err(f"names starting with '__' are reserved ({name!r})", tok, "use a plain name like x or w1")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise err(f"'{name}' is reserved for generated code", tok, f"use another name, like {name}_")


def _lookup(tok, graph, env, err):
    name = tok.text
    if name in env:
        return env[name]
    if name in CONSTANTS:
        return graph.const(*CONSTANTS[name])
    if name in FUNCTIONS:
        raise err(f"'{name}' is a function: call it, like {name}(x)", tok)
    _check_name(tok, err)
    return graph.input(name)


def _expression(tokens, graph, env, err):
    """Iterative shunting-yard over one statement's tokens -> node id."""
    values = []
    # ops: ("bin", op, prec, tok) | ("un", op, prec, tok) | ("(", None, None, tok)
    #      | ["call", name, tok, argc] | ("if", None, 0, tok) | ("else", None, 0, tok)
    ops = []

    def reduce_one():
        kind, op, _, tok = ops.pop()
        pos = (tok.line, tok.col)
        if kind == "un":
            v = values.pop()
            values.append(v if op == "pos" else graph.apply(op, (v,), pos))
        elif kind == "else":      # a if c else b
            b, c, a = values.pop(), values.pop(), values.pop()
            values.append(graph.apply("where", (c, a, b), pos))
        elif kind == "if":
            raise err("'if' without 'else'", tok, "write a if c else b")
        else:
            b, a = values.pop(), values.pop()
            values.append(graph.apply(op, (a, b), pos))

    def reduce_until_open():
        while ops and ops[-1][0] in ("bin", "un", "if", "else"):
            reduce_one()

    expect_operand = True
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < n else None
        if tok.kind == "error":
            raise err(tok.text, tok, tok.hint)
        word = tok.text if tok.kind in ("op", "name") else None
        if expect_operand:
            if tok.kind == "num":
                values.append(graph.const(_number(tok.text)))
                expect_operand = False
            elif word in _UNARY:
                ops.append(("un", *_UNARY[word], tok))
            elif tok.kind == "name":
                if nxt is not None and nxt.text == "(":
                    if tok.text not in FUNCTIONS:
                        raise _unknown_function(tok, err)
                    ops.append(["call", tok.text, tok, 0])
                    i += 2
                    if i < n and tokens[i].text == ")":
                        raise _arity_error(tok.text, 0, tok, err)
                    continue
                values.append(_lookup(tok, graph, env, err))
                expect_operand = False
            elif tok.text == "(":
                ops.append(("(", None, None, tok))
            elif tok.text == "=":
                raise err("unexpected '='", tok, "an assignment needs a name on its left: q = a*x")
            else:
                raise err(f"expected a value before {tok.text!r}" if tok.text else "expected a value",
                          tok, "a value is a number, a name, a call or a parenthesized expression")
        else:
            if word in _BINARY:
                op, prec = _BINARY[word]
                right = word == "**"
                while ops and ops[-1][0] in ("bin", "un"):
                    top_prec = ops[-1][2]
                    if top_prec == prec == 4:
                        raise err("chained comparisons are not supported", tok,
                                  "write (a < b) and (b < c)")
                    if top_prec > prec or (top_prec == prec and not right):
                        reduce_one()
                    else:
                        break
                ops.append(("bin", op, prec, tok))
                expect_operand = True
            elif word in _CONDITIONAL:
                while ops and ops[-1][0] in ("bin", "un"):
                    reduce_one()
                if word == "else":
                    if not ops or ops[-1][0] != "if":
                        raise err("'else' without 'if'", tok, "write a if c else b")
                    ops.pop()
                ops.append((word, None, 0, tok))
                expect_operand = True
            elif tok.text == ")":
                reduce_until_open()
                if not ops:
                    raise err("unmatched ')'", tok)
                top = ops.pop()
                if top[0] == "call":
                    _finish_call(top, values, graph, err)
            elif tok.text == ",":
                reduce_until_open()
                if not ops or ops[-1][0] != "call":
                    raise err("',' outside a function call", tok, "tuples are not supported")
                ops[-1][3] += 1
                expect_operand = True
            elif tok.text == "=" or tok.text in _AUGMENTED:
                raise err(f"unexpected {tok.text!r}", tok, "one assignment per statement, at its start: q = a*x")
            else:
                if tok.kind == "name":
                    _check_name(tok, err)
                raise err(f"missing operator before {tok.text!r}", tok, "write a*b for a product")
        i += 1
    if expect_operand:
        last = tokens[-1]
        raise err(f"the expression ends after {last.text!r}", (last.line, last.col + len(last.text)),
                  "complete the expression")
    while ops:
        if ops[-1][0] in ("(", "call"):
            raise err("'(' was never closed", ops[-1][3] if ops[-1][0] == "(" else ops[-1][2])
        reduce_one()
    return values[-1]


def _finish_call(entry, values, graph, err):
    _, name, tok, commas = entry
    argc = commas + 1
    lo, hi = FUNCTIONS[name].takes
    if argc < lo or (hi is not None and argc > hi):
        raise _arity_error(name, argc, tok, err)
    args = values[len(values) - argc:]
    del values[len(values) - argc:]
    values.append(graph.call(name, args, (tok.line, tok.col)))


def _known_elsewhere():
    """Function names of math and NumPy (symdiff lacks the ones not in FUNCTIONS)."""
    import math
    import numpy as np
    names = {n for n in dir(math) if not n.startswith("_") and callable(getattr(math, n))}
    # vars(), not getattr over dir(): NumPy loads submodules (numpy.random...) on attribute access
    names |= {n for n, v in vars(np).items() if isinstance(v, np.ufunc)}
    return names | {"gamma", "lgamma", "digamma", "erfinv", "sinc", "sec", "csc", "cot", "softmax",
                    "round", "trunc", "heaviside", "xlogy", "log_softmax", "softmin", "swish", "mish"}


def _unknown_function(tok, err):
    name = tok.text
    _check_name(tok, err)
    ours = ALIASES.get(f"np.{name}") or ALIASES.get(f"math.{name}")
    if ours is not None and ours in FUNCTIONS:
        return err(f"unknown function '{name}'", tok, f"symdiff calls it {ours}: {ours}(...)")
    if name in _known_elsewhere():
        return err(f"'{name}' is not supported by symdiff", tok,
                   "supported functions: " + ", ".join(sorted(FUNCTIONS)))
    close = closest(name, FUNCTIONS)
    return err(f"unknown function '{name}'", tok,
               f"did you mean '{close}'?" if close else "known functions: " + ", ".join(sorted(FUNCTIONS)))


def closest(word, candidates):
    """The candidate nearest to word (typos, swapped letters), or None if none is near."""
    def distance(a, b):   # optimal string alignment distance
        d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
                if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
        return d[-1][-1]
    word = word[:40]
    scored = sorted((distance(word, c), abs(len(c) - len(word)), c) for c in candidates)
    if scored and scored[0][0] <= max(1, len(word) // 3) and scored[0][0] < len(word):
        return scored[0][2]
    return None


def _arity_error(name, got, tok, err):
    lo, hi = FUNCTIONS[name].takes
    count = str(lo) if lo == hi else f"{lo} or more" if hi is None else f"{lo} or {hi}"
    example = ", ".join(["x", "y", "z"][:lo])
    return err(f"{name}() takes {count} argument{'s' if (hi or 2) > 1 else ''}, got {got}", tok,
               f"call it as {name}({example})")


def _number(text):
    if len(text) < 30 and re.fullmatch(r"\d+", text):   # (int() refuses 4,300+ digits)
        value = int(text)
        return value if value < 2 ** 53 else float(text)
    return float(text)
