"""The tape kernel (codegen/tape.py): the same numbers as the straight-line code, on every
formula, with few work rows, and the default for programs too big to inline.

Random formulas run the tape as plain Python against the straight-line module as plain
Python (both bind the same math, so they agree to the bit); a sample compiles with Numba."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import symdiff
from codegen import tape
from tests.test_kernels import SAMPLE
from tests.test_properties import NAMES, expressions

BIG_SUM = " + ".join(f"sin({k}*x + y)*{k % 7 + 1}" for k in range(1, 41))   # 40 calls


def tape_rows(d, point, grad=True, python=False):
    X = np.array([np.atleast_1d(point[k]) for k in d.inputs], dtype=float).reshape(len(d.inputs), -1) \
        if d.inputs else np.empty((0, 1))
    with np.errstate(all="ignore"):
        return d.kernels.run_tape(X, grad=grad, python=python)


@given(expressions, st.tuples(*[st.floats(-3, 3) for _ in NAMES]))
def test_tape_equals_the_straight_line_source_bit_for_bit(pair, point):
    d = symdiff.differentiate(pair[0])
    env = dict(zip(NAMES, point))
    with np.errstate(all="ignore"):
        want = d.python.value_and_grad(*(np.float64(env[k]) for k in d.inputs))
        want_value = d.python.value(*(np.float64(env[k]) for k in d.inputs))
    got = tape_rows(d, env, python=True)[:, 0]
    np.testing.assert_array_equal(got, np.array(want, dtype=float))
    assert np.array_equal(tape_rows(d, env, grad=False, python=True)[:, 0], [want_value], equal_nan=True)


@pytest.mark.parametrize("formula", SAMPLE + [BIG_SUM, "x**3 + x**-2*y + 2**x + y**0.5"])
def test_compiled_tape_equals_compiled_straight_kernel(formula):
    straight = symdiff.differentiate(formula, kernel="straight")
    taped = symdiff.differentiate(formula, kernel="tape")
    rng = np.random.default_rng(1)
    point = {k: rng.uniform(0.2, 2.0, size=37) for k in straight.inputs}
    want_value, want_grad = straight(**point)
    value, grad = taped(**point)
    np.testing.assert_array_equal(value, want_value)
    for k in straight.wrt:
        np.testing.assert_array_equal(grad[k], want_grad[k])
    np.testing.assert_array_equal(taped.value(**point), straight.value(**point))
    at = [float(point[k][5]) for k in straight.inputs]
    assert taped.kernels.scalar(*at) == straight.kernels.scalar(*at)
    assert taped.kernels.scalar(*at, grad=False) == straight.kernels.scalar(*at, grad=False)


def test_prange_blocks_equal_the_serial_loop():
    d = symdiff.differentiate(BIG_SUM)
    X = np.random.default_rng(2).normal(size=(2, 1003))
    serial = d.kernels.run_tape(X, parallel=False)
    np.testing.assert_array_equal(d.kernels.run_tape(X, parallel=True), serial)
    assert d.kernels.tape().block(1003) % 8 == 0


def test_auto_takes_straight_for_small_programs_and_the_tape_for_big_ones():
    assert symdiff.differentiate("sigmoid(a*x + b)").kernels.kind == "straight"
    assert symdiff.differentiate(BIG_SUM).kernels.kind == "tape"
    assert symdiff.differentiate(BIG_SUM, kernel="straight").kernels.kind == "straight"
    assert symdiff.differentiate("x*y", kernel="tape").kernels.kind == "tape"
    with pytest.raises(symdiff.FormulaError, match="kernel is one of"):
        symdiff.differentiate("x", kernel="fast")


def test_registers_are_reused_and_dead_code_dropped():
    # a chain of 2,000 statements needs its forward values in the backward pass, but the
    # forward-only tape keeps just a couple of rows live at a time
    d = symdiff.differentiate("\n".join(["s = x"] + [f"s = s*0.5 + {k % 3}" for k in range(2000)]))
    value_tape = d.kernels.tape(grad=False)
    assert len(value_tape) == 2000 and value_tape.rows <= 8   # s*0.5 + k: one muladd each
    names = {k: n for n, k in tape.OPCODE.items()}
    assert {names[int(op)] for op in value_tape.code[:, 0]} == {"muladd"}
    # only the value's own instructions, none of the gradient's, in the value tape
    d = symdiff.differentiate("f = sin(x)*y")
    assert len(d.kernels.tape(grad=False)) == 2 and len(d.kernels.tape()) > 2


def test_same_program_same_tape_and_one_interpreter_source():
    a = symdiff.differentiate(BIG_SUM).kernels.tape()
    b = symdiff.differentiate(BIG_SUM).kernels.tape()
    assert np.array_equal(a.code, b.code) and np.array_equal(a.consts, b.consts)
    assert tape.interpreter_source() == tape.interpreter_source.__wrapped__()
    # every operation of the table has its branch
    from symdiff.functions import OPS
    assert set(OPS) <= set(tape.OPCODE)


@pytest.mark.parametrize("depth", [3000])
def test_deep_nesting_runs_compiled_on_the_tape(depth):
    d = symdiff.differentiate("sin(" * depth + "x" + ")" * depth)
    assert d.kernels.kind == "tape"
    x = np.array([0.5, -1.0, 2.0])
    value, grad = d(x=x)
    for k, x0 in enumerate(x):
        v, g = float(x0), 1.0
        for _ in range(depth):
            g *= math.cos(v)
            v = math.sin(v)
        assert value[k] == pytest.approx(v, rel=1e-12) and grad["x"][k] == pytest.approx(g, rel=1e-9)
    scalar = d.kernels.scalar(0.5)
    assert scalar == (value[0], grad["x"][0])


POWERS = ["x**0.5", "x**2.0", "x**-1", "x**-1.0", "x**3", "x**3.0", "x**1.5", "x**7 + x**-2",
          "2**x", "8**x", "0.5**x", "1024.0**x", "3**x", "x**100000", "x**2147483648",
          "(x*x)**0.5 + 4**(x/3) + sqrt(x*x + 1)**1.5",
          "(2**62)**x", "(2**70)**x", "(0.5**63)**x",        # LLVM's exp2 rewrite stops at 2**62
          # functions whose NumPy versions differ from what compiled code calls
          "sinh(x)", "cosh(x)", "tan(x)", "sign(x)", "1/sign(x)", "abs(x)*x"]
EDGE_POINTS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 2.0, -2.0, 0.5]


@pytest.mark.parametrize("formula", POWERS)
def test_powers_are_the_same_on_every_path(formula):
    """Compiled, Numba multiplies out x**3 and LLVM rewrites x**2.0, x**-1.0, x**0.5 and
    (2**k)**x (codegen/powers.py); plain Python, the tape and trace compute them the same
    way, to the bit and to the sign of a zero."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-5, 5, 4000), rng.uniform(-300, 300, 2000), EDGE_POINTS])
    straight = symdiff.differentiate(formula, kernel="straight")
    taped = symdiff.differentiate(formula, kernel="tape")
    value, grad = straight(x=x)
    other_value, other_grad = taped(x=x)
    assert same(value, other_value) and same(grad["x"], other_grad["x"])
    few = x[::20]
    with np.errstate(all="ignore"):
        plain = np.array([straight.python.value_and_grad(np.float64(v)) for v in few])
        plain_tape = taped.kernels.run_tape(few[None, :], python=True)
    for rows in (plain.T, plain_tape):
        assert same(rows[0], value[::20]) and same(rows[1], grad["x"][::20])
    for k in (-1, -2, -3, -4, 0):            # trace: a few points, edge values among them
        t = straight.trace(x=float(x[k]))
        assert same(t.value, value[k]) and same(t.grad["x"], grad["x"][k])


def same(a, b):
    """Equal to the bit: NaN where NaN, and the same sign on zeros."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.array_equal(a, b, equal_nan=True) and np.array_equal(np.signbit(a) | np.isnan(a),
                                                                   np.signbit(b) | np.isnan(b))


def test_wrong_number_of_arguments_is_an_error_not_a_wrong_row():
    d = symdiff.differentiate("x*y + 2", kernel="tape")
    for args in [(3.0,), (3.0, 4.0, 5.0)]:
        with pytest.raises(TypeError, match="expected 2 arguments"):
            d.kernels.scalar(*args)
    with pytest.raises(TypeError, match="2 input row"):
        d.kernels.run_tape(np.ones((3, 4)))
