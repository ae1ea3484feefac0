"""symdiff show / trace / graph / stats from the command line."""
import re
import subprocess
import sys

import pytest

from symdiff.cli import main

CIRCUIT = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
AT = "w0=2,x0=-1,w1=-3,x1=-2,w2=-3"


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_trace_prints_the_seed_numbers(capsys):
    code, out, err = cli(capsys, "trace", CIRCUIT, "--at", AT)
    assert code == 0 and not err
    assert "gradient: dw0 = -0.20, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.20" in out
    assert "local -f/t3 = -0.53, upstream df = 1.00 → -0.53" in out
    code, out, _ = cli(capsys, "trace", CIRCUIT, "--at", AT, "--digits", "4")
    assert "dw0 = -0.1966" in out


def test_show_is_plain_when_not_a_terminal(capsys):
    code, out, _ = cli(capsys, "show", "tanh(w*x + b)", "--wrt", "w,b")
    assert code == 0 and "\x1b[" not in out and "    return f, dw, db\n" in out
    code, coloured, _ = cli(capsys, "show", "tanh(w*x + b)", "--color", "always")
    assert "\x1b[" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == cli(capsys, "show", "tanh(w*x + b)")[1]


def test_graph_dot_and_files(capsys, tmp_path, monkeypatch):
    code, out, _ = cli(capsys, "graph", CIRCUIT, "--at", AT)
    assert code == 0 and out.startswith("digraph symdiff {") and "grad -0.1966" in out
    path = tmp_path / "circuit.dot"
    assert cli(capsys, "graph", CIRCUIT, "-o", str(path))[0] == 0 and path.read_text().startswith("digraph")
    monkeypatch.setattr("shutil.which", lambda name: None)
    code, out, err = cli(capsys, "graph", CIRCUIT, "-o", str(tmp_path / "c.svg"))
    assert code == 1 and "apt-get install graphviz" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "c.dot").exists()
    code, _, err = cli(capsys, "graph", CIRCUIT, "-o", str(tmp_path / "c.xyz"))
    assert code == 2 and "unknown picture format" in err


def test_stats_report(capsys):
    code, out, _ = cli(capsys, "stats", CIRCUIT, "--time-limit", "0")
    assert code == 0
    assert "14 nodes: 5 inputs, 1 constant, 8 operations" in out
    assert "forward   4 lines, 8 ops" in out and "cheap-gradient bound: 3" in out


@pytest.mark.parametrize("argv", [
    ["trace", "1/(1 +", "--at", "x=1"],
    ["trace", "x*y", "--at", "x=1"],
    ["trace", "x*y", "--at", "x=1,y=oops"],
    ["show", "x**", "--wrt", "x"],
    ["graph", "foo(x)"],
    ["stats", "x*y", "--wrt", "z"],
])
def test_bad_input_exits_2_with_one_line(capsys, argv):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1 and err.startswith("symdiff: error: ")


@pytest.mark.parametrize("command", ["show", "trace", "graph", "stats"])
def test_help_has_examples(capsys, command):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and out.count(f"symdiff {command} ") >= 3


def test_a_new_user_runs_the_installed_command():
    done = subprocess.run([sys.executable, "-m", "symdiff.cli", "trace", CIRCUIT, "--at", AT],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "dx1 = -0.59" in done.stdout
    done = subprocess.run([sys.executable, "-m", "symdiff.cli", "trace", "exp(", "--at", "x=1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
