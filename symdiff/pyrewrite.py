"""``a if c else b``, ``and``, ``or`` and ``not`` in traced functions.

Python asks a value for its truth in these, which a traced number cannot answer. So a
function that uses them is recompiled from its source with each one turned into a call
(``_sd_if(c, lambda: a, lambda: b)``): on a traced condition the call builds ``where``
(or the logical op); on a plain value it does what Python does, lazily as Python does.
The new code keeps the function's file, line numbers, globals and closure, so errors and
names still point at the user's lines.
"""
import ast
import inspect
import textwrap
import types

_MARK = ("_sd_if", "_sd_and", "_sd_or", "_sd_not")


class _Rewrite(ast.NodeTransformer):
    def __init__(self):
        self.changed = False

    @staticmethod
    def _thunk(node):
        return ast.copy_location(ast.Lambda(ast.arguments([], [], None, [], [], None, []), node), node)

    def _call(self, name, args, node):
        self.changed = True
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), args, []), node)

    def visit_IfExp(self, node):
        self.generic_visit(node)
        return self._call("_sd_if", [node.test, self._thunk(node.body), self._thunk(node.orelse)], node)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        name = "_sd_and" if isinstance(node.op, ast.And) else "_sd_or"
        return self._call(name, [self._thunk(v) for v in node.values], node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return self._call("_sd_not", [node.operand], node)
        return node



def rewrite(f, scope, runtime):
    """``f`` recompiled with conditionals as calls into ``runtime`` (a dict of the four
    ``_sd_*`` functions), its globals ``scope``; None if it has none or no readable source."""
    code = f.__code__
    fn = _definition(f)
    if fn is None:
        return None
    changer = _Rewrite()
    if isinstance(fn, ast.Lambda):   # def <lambda>(args): return body, at the lambda's line
        fn = ast.copy_location(ast.FunctionDef(
            "<lambda>", fn.args, [ast.copy_location(ast.Return(changer.visit(fn.body)), fn.body)],
            [], None, None), fn)
        tree = ast.Module([fn], [])
    else:
        fn.decorator_list = []
        fn.body = [changer.visit(stmt) for stmt in fn.body]
        tree = ast.Module([fn], [])
    if not changer.changed:
        return None
    free = code.co_freevars
    if free:   # an outer function gives the new code the same free variables
        outer = ast.FunctionDef("_sd_outer", ast.arguments([], [ast.arg(n) for n in free], None, [], [], None, []),
                                [fn, ast.copy_location(ast.Return(ast.Name(fn.name, ast.Load())), fn)],
                                [], None, None)
        tree.body = [ast.copy_location(outer, fn)]
    ast.increment_lineno(tree, code.co_firstlineno - 1)   # the source starts at that line
    tree = ast.fix_missing_locations(tree)
    module = compile(tree, code.co_filename, "exec")     # compiled, never run: its function's
    made = _code(_code(module, "_sd_outer"), fn.name) if free else _code(module, fn.name)   # code is taken
    cells = dict(zip(free, f.__closure__ or ()))
    scope.update(runtime)
    new = types.FunctionType(made, scope, f.__name__, f.__defaults__,
                             tuple(cells[n] for n in made.co_freevars) or None)
    new.__kwdefaults__ = f.__kwdefaults__
    return new


def _definition(f):
    """The ``def`` (or the ``lambda``) of ``f`` in its source, as an AST node, or None."""
    code = f.__code__
    try:
        source = textwrap.dedent(inspect.getsource(f))
    except (OSError, TypeError):
        return None
    tree = None
    for text in (source, source.strip().rstrip(",)")):
        try:
            tree = ast.parse(text)
            break
        except SyntaxError:
            if "lambda" not in text:
                return None
            source = text[text.index("lambda"):]
    if tree is None:
        try:
            tree = ast.parse(source.strip().rstrip(",)"))
        except SyntaxError:
            return None
    params = list(code.co_varnames[:code.co_argcount])
    for node in ast.walk(tree):
        if code.co_name == "<lambda>" and isinstance(node, ast.Lambda) \
                and [a.arg for a in node.args.args] == params:
            return node
        if code.co_name != "<lambda>" and isinstance(node, ast.FunctionDef) and node.name == code.co_name:
            return node
    return None


def _code(code, name):
    return next(c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == name)
