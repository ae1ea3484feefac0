"""The symdiff command line, as a user runs it."""
import os
import shutil
import subprocess
import sys

import pytest

from symdiff.cli import main


def test_grad_prints_the_source(capsys):
    assert main(["grad", "sigmoid(a*x + b*y + c)", "--wrt", "a,b,c"]) == 0
    out = capsys.readouterr().out
    assert "def value_and_grad(a, x, b, y, c):" in out
    assert "da = x*dt1" in out and "dx =" not in out          # only the wrt gradients


def test_grad_at_a_point_with_check(capsys):
    assert main(["grad", "sigmoid(a*x + b*y + c)", "--at", "a=1,b=2,c=-3,x=-1,y=3", "--check"]) == 0
    out = capsys.readouterr().out
    assert "df/da = -0.1049935854035065" in out
    assert "gradient check" in out and "OK" in out
    for name in "abcxy":
        assert f"\n  {name} " in out


def test_grad_writes_a_file(tmp_path, capsys):
    target = tmp_path / "neuron_grad.py"
    assert main(["grad", "tanh(w*x + b)", "-o", str(target)]) == 0
    assert "def value_and_grad(w, x, b):" in target.read_text()


@pytest.mark.parametrize("argv,words", [
    (["grad", "sigmod(x)"], "unknown function 'sigmod'"),
    (["grad", "x*y", "--wrt", "z"], "'z' is not an input"),
    (["grad", "x*y", "--at", "x=1"], "missing input 'y'"),
    (["grad", "x*y", "--at", "x=one,y=2"], "not a number"),
    (["grad", "x*y", "--check"], "--check needs a point"),
])
def test_bad_input_exits_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_the_traceback():
    from symdiff import FormulaError
    with pytest.raises(FormulaError):
        main(["--debug", "grad", "sigmod(x)"])


def test_installed_console_script():
    exe = shutil.which("symdiff")
    cmd = [exe] if exe else [sys.executable, "-m", "symdiff"]
    done = subprocess.run(cmd + ["grad", "(x + y)*z", "--at", "x=-2,y=5,z=-4"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == ["df/dx = -4.0", "df/dy = -4.0", "df/dz = 3.0"]
    bad = subprocess.run(cmd + ["grad", "x +"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_debug_is_accepted_after_the_subcommand():
    from symdiff import FormulaError
    with pytest.raises(FormulaError):
        main(["grad", "sigmod(x)", "--debug"])


def test_formula_without_inputs_at_an_empty_point(capsys):
    assert main(["grad", "2 + 3", "--at", ""]) == 0
    assert capsys.readouterr().out.strip() == "f = 5.0"


def test_bench_runs_python_m_benchmarks_from_the_checkout(capfd, monkeypatch):
    assert main(["bench", "--", "--help"]) == 0
    out = capfd.readouterr().out
    assert "usage: python -m benchmarks" in out and "--stress" in out
    from symdiff import cli_bench
    monkeypatch.setattr(cli_bench, "checkout", lambda: None)
    assert main(["bench", "--quick"]) == 2
    assert "needs the benchmarks/ folder of a source checkout" in capfd.readouterr().err


def test_at_rejects_a_repeated_name(capsys):
    assert main(["grad", "x*y", "--at", "x=1,y=2,x=3"]) == 2
    assert "--at gives 'x' twice" in capsys.readouterr().err


def test_version(capsys):
    import symdiff
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out.strip() == f"symdiff {symdiff.__version__}"


def test_formula_from_stdin_and_constants_at_the_point(capsys, monkeypatch):
    import io
    import math
    monkeypatch.setattr(sys, "stdin", io.StringIO("q = sin(x)\nf = q*y\n"))
    assert main(["grad", "-", "--at", "x=pi/4,y=2*e"]) == 0
    out = capsys.readouterr().out
    assert f"f = {math.sin(math.pi / 4) * 2 * math.e!r}" in out
    assert f"df/dy = {math.sin(math.pi / 4)!r}" in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("  \n"))
    assert main(["grad", "-"]) == 2
    assert "no formula on standard input" in capsys.readouterr().err


@pytest.mark.parametrize("value, message", [("y", "is not constant"), ("2*", "is not a number"),
                                            ("__import__('os')", "is not a number")])
def test_at_values_are_numbers_or_constant_expressions(capsys, value, message):
    assert main(["grad", "x*y", "--at", f"x={value},y=1"]) == 2
    assert message in capsys.readouterr().err


def test_at_values_may_hold_commas_inside_calls(capsys):
    assert main(["grad", "x*y", "--at", "x=max(1, 2),y=exp(0)"]) == 0
    assert "f = 2.0" in capsys.readouterr().out
