"""Smoke tests of the benchmark harness in benchmarks/: its pieces work (chart writer,
stress builders and time limit, peer skipping, CLI).  Nothing here asserts a speed."""
import importlib
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import numba

# Importing ``benchmarks`` pins the process to one CPU, sets *_NUM_THREADS / XLA_FLAGS and
# numba.set_num_threads(1) (see benchmarks/common.py).  Undo that right after the import,
# so that other tests collected into the same session (and their subprocesses) see the
# machine as before.
_ENV = dict(os.environ)
_AFFINITY = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
_THREADS = numba.get_num_threads()
os.environ["BENCHMARKS_CPU"] = "all"          # no 0.2 s probe for the least busy CPU
try:
    from benchmarks import bench_formulas, bench_stress, chart, common
    from benchmarks.common import Row, Table, Timing
    cli = importlib.import_module("benchmarks.__main__")
finally:
    os.environ.clear()
    os.environ.update(_ENV)
    if _AFFINITY is not None:
        os.sched_setaffinity(0, _AFFINITY)
    numba.set_num_threads(_THREADS)

import symdiff  # noqa: E402


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(common, "QUICK", True)


# --- stress builders ----------------------------------------------------------------------
@pytest.mark.parametrize("key, sizes", [("sum", [1, 2, 17, 89, 90, 200]),
                                        ("sin", [1, 5, 300]),
                                        ("add", [1, 5, 300]),
                                        ("program", [1, 6, 7, 8, 40])])
def test_stress_builders_give_the_intended_node_counts(key, sizes):
    case = bench_stress.CASE_BY_KEY[key]
    for n in sizes:
        d = symdiff.differentiate(case.build(n))
        assert len(d.graph.nodes) == case.nodes(n), (key, n)


def test_stress_full_sizes_are_the_issue_sizes():
    sizes = {c.key: c.size for c in bench_stress.CASES}
    nodes = bench_stress.sum_of_products_nodes(sizes["sum"])
    assert 100_000 <= nodes < 100_000 + 6
    assert sizes["sin"] == sizes["add"] == 10_000
    assert bench_stress.nested_sin(3) == "sin(sin(sin(x)))"
    assert bench_stress.nested_add(2) == "((x + 0.001) + 0.001)"
    assert sizes["program"] == 1_000
    text = bench_stress.program(sizes["program"])
    assert len(text.splitlines()) == 1_001              # s = x, then 1,000 statements
    assert text.splitlines()[8] == "s = s*0.999 + sin(s + 0)*y"


def test_stress_run_case_measures_phases_and_gives_up_on_a_hang():
    """A real child process on a tiny case; the scalar phase is made to hang, so the
    parent must kill it, say so, and still run the array phase in a new child."""
    case = bench_stress.CASE_BY_KEY["add"]
    logged = []
    r = bench_stress.run_case(case, quick=True, limit=5.0, hang="scalar", log=logged.append)
    assert not r.errors, (r.errors, logged)
    assert r.phases["differentiate"]["nodes"] == case.nodes(case.quick_size)
    assert r.phases["source"]["source_lines"] > 0
    assert r.phases["python"]["plain"] is True          # no Numba for the first scalar call
    assert r.gave_up["scalar"]["why"] == "time limit"
    assert r.respawns == 1
    assert "array" in r.phases or "array" in r.gave_up  # ran (or timed out) in a new child
    if "array" in r.phases:
        assert r.phases["array"]["value"] == pytest.approx(r.phases["python"]["value"])
    assert any("gave up after" in line for line in logged)
    table = bench_stress.StressTable("stress", [r])
    md = table.markdown()
    assert "**gave up after" in md and "| ((x + 0.001) + 0.001)... 100 deep |" in md


def test_stress_table_markdown_from_fake_results():
    case = bench_stress.CASE_BY_KEY["sum"]
    rec = dict(wall=1.5, cpu=1.25, rss_mb=300.0, cpu_total=2.0)
    r = bench_stress.CaseResult(case, quick=False, phases={
        "differentiate": dict(rec, nodes=100_003, lines=108_338),
        "source": dict(rec, source_lines=145_850),
        "python": dict(rec, plain=True, value=1.0)},
        gave_up={"scalar": dict(after=601.0, cpu=590.0, rss_mb=3000.0, why="time limit")},
        errors={"array": "FAILED (exit 1): boom"})
    md = bench_stress.StressTable("Stress", [r], notes=["a note"]).markdown()
    assert "100,003" in md and "145,850" in md
    assert "**gave up after 601 s** (time limit, cpu 590 s, RSS 2.93 GB)" in md
    assert "FAILED (exit 1): boom" in md and "- a note" in md
    assert sum(line.startswith("|---") for line in md.splitlines()) == 1
    assert md.rstrip().splitlines()[4].endswith("| **missed** |")   # phases gave up: over budget
    ok = bench_stress.CaseResult(case, quick=False, phases={
        p: dict(rec, nodes=1, lines=1, source_lines=1) for p, _ in bench_stress.PHASES})
    assert bench_stress.budget(ok) == "met (9.0 s)"
    big = bench_stress.CaseResult(case, quick=False, phases={
        p: dict(rec, rss_mb=2048.0) for p, _ in bench_stress.PHASES})
    assert bench_stress.budget(big) == "**missed** (9.0 s)"


# --- chart ---------------------------------------------------------------------------------
def _fake_tables():
    t = Table("Fake formulas", ratio_label="ratio vs hand")
    t.add(Row("f", "hand-written Numba fused", best=1.0, cpu=1.0, ratio=1.0))
    t.add(Row("f", "symdiff", best=1.2, cpu=1.1, ratio=1.1))
    t.add(Row("f", "torch autograd", best=30.0, cpu=25.0, ratio=25.0))
    t.add(Row("f", "CasADi SX map", note="skipped (not installed / not available)"))
    t.add(Row("g", "micrograd", best=5e4, cpu=5e4, ratio=5e4))
    cost = Table("Fake gradient cost", ratio_label="value+grads / value", target=2.5)
    cost.add(Row("f", "symdiff d()", best=1.0, cpu=1.0, ratio=1.4))
    speed = Table("Fake speed-ups", chart=False)
    speed.add(Row("f", "threads", best=1.0, ratio=1.9))
    return [t, cost, speed]


def test_chart_writer_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    tables = _fake_tables()
    assert [r[1] for r in chart.chart_rows(tables[0])] == [
        "hand-written Numba fused", "symdiff", "torch autograd", "micrograd"]
    path = chart.write_chart(tables, str(tmp_path / "chart.png"), title="fake")
    assert path == str(tmp_path / "chart.png")
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_chart_writer_without_matplotlib_only_notes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # as if not installed
    assert chart.write_chart(_fake_tables(), str(tmp_path / "chart.png")) is None
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "chart.png").exists()


def test_chart_writer_without_ratios(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert chart.write_chart([Table("empty")], str(tmp_path / "c.png")) is None
    assert "no table with ratios" in capsys.readouterr().out


# --- peers -----------------------------------------------------------------------------------
def test_missing_peer_is_skipped_with_a_note(monkeypatch):
    monkeypatch.setattr(common, "SKIPPED", {})
    monkeypatch.setattr(common, "_LOADED", {})
    monkeypatch.setitem(common.PEERS, "nosuchpeer",
                        ("nosuchpeer_module_for_the_smoke_test", "pip install nosuchpeer"))
    assert common.peer("nosuchpeer") is None
    assert "pip install nosuchpeer" in common.SKIPPED["nosuchpeer"]
    md = common.versions_markdown()
    assert "Skipped peers" in md and "**nosuchpeer**" in md


def _neuron_reference(inputs):
    a, b, c, x, y = (inputs[k] for k in "abcxy")
    s = 1 / (1 + np.exp(-(a * x + b * y + c)))
    dz = s * (1 - s)
    return s, dz * x, dz * y, dz, dz * a, dz * b


def test_peer_rows_skip_fail_and_time(quick):
    f = bench_formulas.FORMULAS[0]
    inputs = bench_formulas.inputs_for(f, 64)
    ref = _neuron_reference(inputs)

    def good(f, inputs):
        v, *g = _neuron_reference(inputs)
        return lambda: (v, dict(zip(f.wrt, g)))

    def subset(f, inputs):
        small = {k: (v[:16] if np.ndim(v) else v) for k, v in inputs.items()}
        run = good(f, small)
        run.points = 16
        return run

    def wrong(f, inputs):
        v, *g = _neuron_reference(inputs)
        return lambda: (v + 1.0, dict(zip(f.wrt, g)))

    def broken(f, inputs):
        raise RuntimeError("cannot build")

    impls = [("missing", lambda f, i: None),
             ("n/a", lambda f, i: bench_formulas.NOT_APPLICABLE),
             ("broken", broken), ("wrong", wrong), ("good", good), ("subset", subset)]
    table = Table("peers")
    ref_t = Timing(1e-3, 1e-3, 1e-3, 1)
    timings = bench_formulas.add_impl_rows(table, f, inputs, ref, ref_t, impls=impls)
    rows = {r.impl: r for r in table.rows}
    assert "n/a" not in rows
    assert rows["missing"].note.startswith("skipped")
    assert rows["broken"].note.startswith("FAILED to build: RuntimeError")
    assert rows["wrong"].note.startswith("WRONG, not timed") and rows["wrong"].best is None
    assert rows["good"].ratio is not None and set(timings) == {"good", "subset"}
    assert "first 16 points, times x4" in rows["subset"].note
    assert "| neuron | missing |" in table.markdown()


def test_micrograd_peer_matches_on_its_formula(quick):
    pytest.importorskip("micrograd")
    f = next(f for f in bench_formulas.FORMULAS if f.name == "micrograd")
    inputs = bench_formulas.inputs_for(f, 50)
    run = bench_formulas.micrograd_impl(f, inputs, points=20)
    value, grads = run()
    assert run.points == 20 and value.shape == (20,) and set(grads) == {"a", "b"}
    m = SimpleNamespace(relu=lambda z: np.maximum(z, 0.0))
    want = f.build(m, a=inputs["a"][:20], b=inputs["b"][:20])
    np.testing.assert_allclose(value, want, rtol=1e-12)
    assert bench_formulas.micrograd_impl(bench_formulas.FORMULAS[0], inputs) == \
        bench_formulas.NOT_APPLICABLE


def test_quick_mode_caps_repeats(quick):
    calls = []
    t = common.timeit(lambda: calls.append(1), min_repeats=10, max_repeats=50, budget=5.0)
    assert t.repeats <= 3 and len(calls) <= 4


# --- CLI -------------------------------------------------------------------------------------
def test_cli_suite_selection():
    assert cli.parse_args([]).names == ["formulas", "mlp", "reduce", "fit"]   # stress only on request
    assert cli.parse_args(["--stress"]).names == ["formulas", "mlp", "reduce", "fit", "stress"]
    assert cli.parse_args(["stress"]).names == ["stress"]
    args = cli.parse_args(["--quick", "formulas", "--stress-limit", "30"])
    assert args.quick and args.names == ["formulas"] and args.stress_limit == 30.0
    with pytest.raises(SystemExit):
        cli.parse_args(["nosuchsuite"])
    assert cli.output_paths(False)["results"].endswith(os.path.join("benchmarks", "RESULTS.md"))
    assert cli.output_paths(False)["chart"].endswith("RESULTS.png")
    assert cli.output_paths(True)["results"].endswith("RESULTS-quick.md")


def test_last_stress_section_is_marked_as_copied(tmp_path):
    path = tmp_path / "STRESS.md"
    assert cli.last_stress_section(str(path)) is None
    table = bench_stress.StressTable("Stress: budgets")
    path.write_text("# symdiff stress benchmarks\n\nGenerated by `x` (2026-01-01 00:00).\n\n"
                    + table.markdown() + "\n### Environment\n\n| python | 3 |\n")
    section = cli.last_stress_section(str(path))
    assert section.startswith("### Stress: budgets (copied from `benchmarks/STRESS.md`")
    assert "Generated by `x` (2026-01-01 00:00)." in section and "Environment" not in section


def test_loops_run_by_names_the_array_loop(cache_dir):
    d = symdiff.differentiate("x*y + sin(x)")
    x = np.linspace(0.0, 1.0, 10)
    ran = bench_formulas.loops_run_by(d, lambda: d(x=x, y=2.0))
    assert ran == ["grad_loop"]                 # N < 2**17: the serial loop
    assert "get" not in vars(d.kernels)        # the wrapper is gone afterwards
