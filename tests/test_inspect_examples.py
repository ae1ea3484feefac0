"""The examples/inspect_*.py scripts run and print the seeds' numbers."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def run(name, *args, cwd):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, name), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env=dict(os.environ, NO_COLOR="1"))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sigmoid_circuit_example(tmp_path):
    out = run("inspect_sigmoid_circuit.py", str(tmp_path), cwd=tmp_path)
    assert "gradient: dw0 = -0.20, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.20" in out
    assert "cheap-gradient bound: 3" in out
    assert (tmp_path / "circuit.dot").exists() and (tmp_path / "circuit_grad.py").exists()


def test_python_function_example(tmp_path):
    out = run("inspect_python_function.py", cwd=tmp_path)
    assert "    q = a*x + b*y + c\n" in out and "da = x*dq" in out
    assert "gradient: da = -0.10, db = 0.31, dc = 0.10, dx = 0.10, dy = 0.21" in out
    assert "data-dependent control flow" in out
