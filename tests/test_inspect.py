"""show / trace / graph / stats / notebook reprs, against the seeds, SymPy and micrograd-style
node-by-node backprop."""
import io
import re

import numpy as np
import pytest
import sympy

import symdiff
from symdiff.graph import Graph
from symdiff.inspection import node_grads, node_values, sympy_size, trace
from symdiff.parser import parse
from codegen import highlight
from codegen.dot import DotGraph, GraphvizNotFound

CIRCUIT = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
POINT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)


@pytest.fixture(scope="module")
def circuit():
    return symdiff.differentiate(CIRCUIT)


def sympy_grad(formula, point):
    expr = parse(formula)
    sym = expr.graph.to_sympy(expr.root, expand=True)
    subs = {sympy.Symbol(k): v for k, v in point.items()}
    return float(sym.subs(subs)), {k: float(sympy.diff(sym, sympy.Symbol(k)).subs(subs)) for k in point}


# -- trace ------------------------------------------------------------------------------------------
def test_trace_reproduces_the_cs231n_sigmoid_circuit(circuit, capsys):
    t = circuit.trace(**POINT)
    text = capsys.readouterr().out
    # the seed: dw0=-0.2, dx0=0.39, dw1=-0.39, dx1=-0.59, dw2=0.2
    assert "gradient: dw0 = -0.20, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.20" in text
    assert {k: round(v, 2) for k, v in t.grad.items()} == dict(w0=-0.2, x0=0.39, w1=-0.39, x1=-0.59, w2=0.2)
    # forward, gate by gate: w.x + w2 = 1, exp(-1) -> 0.37, +1 -> 1.37, 1/x -> 0.73 (the *-1
    # gate prints inside the exp call, as the Hacker's guide writes math.exp(-q))
    for line in ["t1 = w0*x0 + w1*x1 + w2  = 1.00", "t2 = np.exp(-t1)         = 0.37",
                 "t3 = 1 + t2              = 1.37", "f = 1/t3                 = 0.73"]:
        assert line in text
    # "1/x gate: local -1/x**2 = -0.53, upstream 1.00 -> -0.53"; our rule reuses y: -f/t3 = -1/t3**2
    assert "local -f/t3 = -0.53, upstream df = 1.00 → -0.53" in text
    assert "local 1.0 = 1.00, upstream dt3 = -0.53 → -0.53" in text     # +1 gate
    # exp gate (local 0.37 -> -0.20) then *-1 gate (local -1 -> 0.20), as one line
    assert "local -t2 = -0.37, upstream dt2 = -0.53 → 0.20" in text
    assert "local x0 = -1.00, upstream dt1 = 0.20 → -0.20" in text      # w0's multiply gate
    assert "local w0 = 2.00, upstream dt1 = 0.20 → 0.39" in text        # "not 0.39, 0.4" rounded twice
    # every product is local x upstream, to the last bit
    for step in t.backward:
        if step.upstream is not None:
            assert step.term == pytest.approx(step.local_value * step.upstream_value, rel=1e-15)


def test_trace_agrees_with_sympy_and_the_generated_code(circuit):
    t = trace(circuit.program, POINT)
    value, grad = sympy_grad(CIRCUIT, POINT)
    assert t.value == pytest.approx(value, rel=1e-14)
    for k in POINT:
        assert t.grad[k] == pytest.approx(grad[k], rel=1e-13)
    result = circuit.python.value_and_grad(*(float(POINT[k]) for k in circuit.inputs))
    assert [t.value, *t.grad.values()] == pytest.approx(list(result), rel=1e-15)


def test_trace_shows_accumulation_where_paths_join():
    d = symdiff.differentiate("q = a*x + b; f = q*q + sigmoid(q)")
    t = trace(d.program, dict(a=1.0, x=2.0, b=-1.0))
    text = t.format(digits=4)
    joins = [s for s in t.backward if s.accumulate]
    assert joins and all(f", {s.target} = " in text for s in joins)
    _, grad = sympy_grad("q = a*x + b; f = q*q + sigmoid(q)", dict(a=1.0, x=2.0, b=-1.0))
    assert t.grad == pytest.approx(grad, rel=1e-13)


def test_trace_errors_are_clear(circuit):
    with pytest.raises(symdiff.FormulaError, match="'x1' is missing"):
        trace(circuit.program, dict(w0=2, x0=-1, w1=-3, w2=-3))
    with pytest.raises(symdiff.FormulaError, match="did you mean 'w1'"):
        trace(circuit.program, dict(POINT, w11=1))
    with pytest.raises(symdiff.FormulaError, match="one point"):
        trace(circuit.program, dict(POINT, w0=[1.0, 2.0]))


def test_trace_takes_a_dict_too(circuit, capsys):
    t = circuit.trace(dict(POINT))
    capsys.readouterr()
    assert t.grad["w2"] == pytest.approx(0.19661193324148188)


# -- graph (DOT) -----------------------------------------------------------------------------------
def test_graph_is_still_the_graph_and_draws_when_called(circuit):
    assert isinstance(circuit.graph, Graph)
    assert circuit.graph.nodes is circuit.graph.nodes and circuit.graph.inputs["w0"] == 1   # shared state
    assert len(circuit.graph) == 14
    picture = circuit.graph()
    assert picture.source.startswith("digraph symdiff {") and "value" not in picture.source


def test_graph_nodes_carry_value_and_gradient_like_micrograd(circuit):
    picture = circuit.graph(**POINT)
    src = picture.source
    ops = [n for n in circuit.graph.nodes if n.op not in ("const",)]
    assert src.count("| value ") == len(ops)           # one record per operation and input
    assert '{ w0 | value 2.0000 | grad -0.1966 }' in src
    assert '{ f = / | value 0.7311 | grad 1.0000 }' in src
    assert '{ exp | value 0.3679 | grad -0.5344 }' in src
    assert 'n12 -> n13 [label="b"]' in src               # operand order of a division is labelled


def test_node_by_node_backprop_agrees_with_the_generated_program():
    formula = "q = a*x + b*y + c; h = tanh(q)*q - max(a, y) + relu(x)**2 / (1 + b*b) + sqrt(q*q + 1)"
    point = dict(a=0.7, x=-1.3, b=2.0, y=0.4, c=0.1)
    d = symdiff.differentiate(formula)
    values = node_values(d.graph, d.root, point)
    grads = node_grads(d.graph, d.root, values)
    t = trace(d.program, point)
    for name in d.inputs:
        assert grads[d.graph.inputs[name]] == pytest.approx(t.grad[name], rel=1e-13)
    assert values[d.root] == pytest.approx(t.value, rel=1e-15)


def test_large_graphs_are_summarized_fast():
    terms = " + ".join(f"tanh(w{k}*x{k % 7} + b{k % 5})*x{k % 3}" for k in range(400))
    p = parse(terms)
    assert len(p.graph) > 2000
    point = {name: 0.1 for name in p.graph.inputs}
    values = node_values(p.graph, p.root, point)
    grads = node_grads(p.graph, p.root, values)
    picture = DotGraph(p.graph, p.root, values, grads, title=terms)
    assert len(picture.shown) == 200 and len(picture.hidden) == len(p.graph.live(p.root)) - 200
    assert "more nodes" in picture.source and "200 of" in picture.source
    assert picture.source.count("[label=") <= 202 + 400     # nodes + labelled edges, not thousands
    full = DotGraph(p.graph, p.root, max_nodes=None)
    assert not full.hidden
    assert full.source.count(" [label=") >= len(p.graph.live(p.root))


def test_render_without_graphviz_says_what_to_install(circuit, monkeypatch, tmp_path):
    monkeypatch.setattr("shutil.which", lambda name: None)
    picture = circuit.graph(**POINT)
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        picture.render(str(tmp_path / "circuit.svg"))
    assert picture._repr_svg_() is None
    picture.render(str(tmp_path / "circuit.dot"))          # DOT text needs no Graphviz
    assert (tmp_path / "circuit.dot").read_text() == picture.source


def test_render_with_graphviz(circuit, tmp_path):
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("the Graphviz 'dot' program is not installed")
    path = circuit.graph(**POINT).render(str(tmp_path / "circuit.svg"))
    svg = open(path).read()
    assert "<svg" in svg and "0.7311" in svg
    png = circuit.graph().render(str(tmp_path / "circuit.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


# -- stats -------------------------------------------------------------------------------------------
def test_stats_counts_and_sympy_size(circuit, capsys):
    s = circuit.stats()
    text = capsys.readouterr().out
    assert s.node_count == 14 and s.nodes["input"] == 5 and s.nodes["const"] == 1
    assert s.forward_ops == circuit.program.forward_ops() == 8
    assert s.backward_ops == circuit.program.backward_ops()
    assert s.ratio == pytest.approx(s.backward_ops / s.forward_ops)
    assert "cheap-gradient bound: 3" in text
    # SymPy's own count, independently: diff of the whole formula, cse, count_ops
    x = sympy.symbols("w0 x0 w1 x1 w2")
    f = 1 / (1 + sympy.exp(-(x[0] * x[1] + x[2] * x[3] + x[4])))
    reps, red = sympy.cse([sympy.diff(f, v) for v in x])
    expected = sum(sympy.count_ops(e) for _, e in reps) + sum(sympy.count_ops(e) for e in red)
    assert s.sympy_ops == expected
    assert f"cse: {expected} ops" in text


def test_stats_gives_up_on_swelling_sympy_derivatives():
    # a depth-20 recurrence: SymPy's whole-formula derivative swells (millions of ops)
    text = "; ".join(f"x{k + 1} = sin(x{k}*x{k} + x{k})" for k in range(20))
    p = parse(text)
    result = sympy_size(p.graph, p.root, ["x0"], time_limit=1.0)
    assert result == {"gave_up": 1.0}


def test_stats_report_says_gave_up():
    d = symdiff.differentiate("x1 = sin(x0*x0 + x0); x2 = sin(x1*x1 + x1)")
    from symdiff.inspection import Stats
    from collections import Counter
    s = Stats(d.program, Counter(input=1, const=0, sin=2), 6, 8, {"gave_up": 2.0})
    assert "gave up after 2 s" in str(s)


# -- show, highlighting, notebooks ---------------------------------------------------------------------
def test_show_is_plain_when_piped_and_coloured_on_request(circuit, monkeypatch):
    out = io.StringIO()
    circuit.show(file=out)
    assert out.getvalue() == circuit.source
    out = io.StringIO()
    circuit.show(color=True, file=out)
    coloured = out.getvalue()
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == circuit.source


def test_color_only_on_terminals_and_never_with_no_color(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert highlight.use_color(Tty()) and not highlight.use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not highlight.use_color(Tty())


def test_highlighting_keeps_every_character():
    src = 'def f(x):\n    """doc"""\n    y = np.exp(-x)  # exp: y\n    return 1.5e-3*y\n'
    assert "".join(text for text, _ in highlight.spans(src)) == src
    kinds = {text: kind for text, kind in highlight.spans(src) if kind}
    assert kinds["def"] == "keyword" and kinds["f"] == "defname" and kinds["# exp: y"] == "comment"
    assert kinds["1.5e-3"] == "number" and kinds["np"] == "module"


def test_notebook_reprs_show_formula_and_source(circuit):
    page = circuit._repr_html_()
    assert "symdiff.Derivative" in page and "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))" in page
    assert "<pre" in page and "dw0 = x0*dt1" in page and "<span" in page
    md = circuit._repr_markdown_()
    assert "```python\n" + circuit.source in md


def test_stats_says_how_calls_run_compiled(capsys):
    small = symdiff.differentiate("tanh(w*x + b)")
    assert "kernel    straight:" in str(small.stats(time_limit=0))
    big = symdiff.differentiate(" + ".join(f"sin({k}*x + y)*{k}" for k in range(1, 31)))
    tape = big.kernels.tape()
    line = next(l for l in str(big.stats(time_limit=0)).splitlines() if l.strip().startswith("kernel"))
    assert line == (f"  kernel    tape: {len(tape)} instructions over {tape.rows} work rows, "
                    "run by the shared interpreter (codegen/tape.py)")


def test_trace_shows_the_numbers_the_kernels_give_to_the_bit(capsys):
    # a 300-term sum: NumPy's own sin differs from the kernels' vmath sin in the last bits
    d = symdiff.differentiate(" + ".join(f"sin({k}*x + y)*{k % 7 + 1}" for k in range(1, 301)) + " + x**3 + 8**y")
    t = d.trace(x=0.3, y=0.5)
    value, grad = d(x=0.3, y=0.5)
    assert t.values[d.program.output] == value
    assert [t.values[g] for g in d.program.grads] == [grad["x"], grad["y"]]


def test_trace_when_the_output_is_an_input(capsys):
    for formula in ["x**1", "y = x; y"]:
        t = symdiff.differentiate(formula).trace(x=2.0)
        assert t.value == 2.0 and t.grad == {"x": 1.0}
