"""Second-order and multi-output derivatives at N = 10**6 points, one thread, float64
(issue 10): symdiff's hessian/hvp/jacobian against JAX jit(vmap(...)) and torch.func,
in the same run. Every peer is checked against symdiff's numbers before it is timed.

    python -m benchmarks.bench_second [--quick]

- neuron Hessian: sigmoid(a*x + b*y + c), a, b, c scalars, x, y arrays; all 15 entries
  per point, plus value and gradient (JAX: jit(vmap(hessian)), torch: vmap(hessian)).
- Rosenbrock HVP: (1 - x)**2 + 100*(y - x**2)**2 with x, y and the vector arrays
  (JAX: jit(vmap(jvp(grad))), torch: vmap(jvp(grad)); both return the gradient and the
  HVP, as symdiff's hvp does, which also returns the value).
- polar and spherical Jacobians (JAX: jit(vmap(jacfwd)), torch: vmap(jacfwd)).
- cost against the forward pass, in time: symdiff's JVP and HVP against the formula's value
  alone (``differentiate(...).value``), same points (issue 10's bounds: JVP about 2x, HVP
  about 4x the forward cost; ``stats()`` gives the op counts).
- the write floor: hand-written Numba kernels that only write the neuron Hessian's 21
  result arrays (168 MB), one array after the other, with plain stores and with streaming
  stores (codegen/streams.py). No Hessian can be returned faster than this.
"""
from __future__ import annotations

import sys

from .common import check_close, peer, timeit   # pins one thread before numpy/jax/torch

import numpy as np

N = 10**6
ROSENBROCK_TEXT = "(1 - x)**2 + 100*(y - x**2)**2"
RESULTS = 21    # the neuron Hessian's arrays: value, 5 gradients, 15 Hessian entries


def write_floor(n):
    """(plain, streamed): functions writing RESULTS arrays of n float64, each in turn."""
    import numba
    from codegen.streams import stream_copy, stream_fence
    block = np.arange(1024.0).reshape(1, 1024)

    @numba.njit(error_model="numpy")
    def plain(x, out):
        for i in range(out.shape[0]):
            out[i] = x[i] + 1.0        # not a memcpy idiom: a store per point

    @numba.njit(error_model="numpy")
    def streamed(x, out):
        for i0 in range(0, out.shape[0], 1024):
            stream_copy(out, i0, block, 0, min(1024, out.shape[0] - i0))
        stream_fence()

    outs = [np.empty(n) for _ in range(RESULTS)]
    x = np.ones(n)

    def run(kernel):
        def go():
            for out in outs:
                kernel(x, out)
        go()
        return go
    return run(plain), run(streamed)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    n = 10**5 if "--quick" in argv else N
    import numba
    numba.set_num_threads(1)
    import symdiff
    jax, torch = peer("jax"), peer("torch")
    rng = np.random.default_rng(0)
    rows = []

    def row(case, impl, fn, ref=None):
        t = timeit(fn)
        rows.append((case, impl, t.cpu * 1e3, ref, t.best * 1e3))
        return t.cpu * 1e3

    # -- neuron Hessian -----------------------------------------------------------------
    x, y = rng.normal(size=n), rng.normal(size=n)
    h = symdiff.hessian("sigmoid(a*x + b*y + c)")
    h(a=1.0, x=x[:10], b=2.0, y=y[:10], c=-3.0)
    _, _, hess = h(a=1.0, x=x, b=2.0, y=y, c=-3.0)
    base = row("neuron Hessian", "symdiff", lambda: h(a=1.0, x=x, b=2.0, y=y, c=-3.0))
    plain, streamed = write_floor(n)
    row("neuron Hessian", f"write floor: {RESULTS} arrays, plain stores (Numba)", plain, base)
    row("neuron Hessian", f"write floor: {RESULTS} arrays, streaming stores (Numba)", streamed, base)
    names = ["a", "x", "b", "y", "c"]
    if jax is not None:
        jnp = jax.numpy

        def f(a, x, b, y, c):
            return jax.nn.sigmoid(a * x + b * y + c)
        fn = jax.jit(jax.vmap(jax.hessian(f, argnums=(0, 1, 2, 3, 4)), in_axes=(None, 0, None, 0, None)))
        H = fn(1.0, x, 2.0, y, -3.0)
        check_close("jax neuron hessian", H[1][3], hess["x"]["y"], rtol=1e-9)
        row("neuron Hessian", "JAX jit(vmap(hessian))",
            lambda: jax.block_until_ready(fn(1.0, x, 2.0, y, -3.0)), base)
    if torch is not None:
        from torch.func import hessian as thessian, vmap as tvmap
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def tf(a, x, b, y, c):
            return torch.sigmoid(a * x + b * y + c)
        ta, tb, tc = (torch.tensor(v, dtype=torch.float64) for v in (1.0, 2.0, -3.0))
        tfn = tvmap(thessian(tf, argnums=(0, 1, 2, 3, 4)), in_dims=(None, 0, None, 0, None))
        H = tfn(ta, tx, tb, ty, tc)
        check_close("torch neuron hessian", H[1][3].numpy(), hess["x"]["y"], rtol=1e-9)
        row("neuron Hessian", "torch vmap(hessian)", lambda: tfn(ta, tx, tb, ty, tc), base)

    # -- Rosenbrock HVP -----------------------------------------------------------------
    x, y = rng.uniform(-2, 2, n), rng.uniform(-1, 3, n)
    vx, vy = rng.normal(size=n), rng.normal(size=n)
    hv = symdiff.hvp(ROSENBROCK_TEXT)
    hv({"x": x[:10], "y": y[:10]}, {"x": vx[:10], "y": vy[:10]})
    _, _, res = hv({"x": x, "y": y}, {"x": vx, "y": vy})
    base = row("Rosenbrock HVP", "symdiff", lambda: hv({"x": x, "y": y}, {"x": vx, "y": vy}))
    if jax is not None:
        def rosen(x, y):
            return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
        g = jax.grad(rosen, argnums=(0, 1))
        fn = jax.jit(jax.vmap(lambda x, y, vx, vy: jax.jvp(g, (x, y), (vx, vy))))   # (grad, hv)
        out = fn(x, y, vx, vy)[1]
        check_close("jax rosenbrock hvp", out[0], res["x"], rtol=1e-9)
        row("Rosenbrock HVP", "JAX jit(vmap(jvp(grad)))", lambda: jax.block_until_ready(fn(x, y, vx, vy)), base)
    if torch is not None:
        from torch.func import grad as tgrad, jvp as tjvp
        tg = tgrad(lambda x, y: (1 - x) ** 2 + 100 * (y - x ** 2) ** 2, argnums=(0, 1))
        tfn = tvmap(lambda x, y, vx, vy: tjvp(tg, (x, y), (vx, vy)))   # (grad, hv)
        targs = [torch.from_numpy(a) for a in (x, y, vx, vy)]
        out = tfn(*targs)[1]
        check_close("torch rosenbrock hvp", out[0].numpy(), res["x"], rtol=1e-9)
        row("Rosenbrock HVP", "torch vmap(jvp(grad))", lambda: tfn(*targs), base)

    # -- polar and spherical Jacobians ------------------------------------------------------
    cases = {
        "polar Jacobian": ("r = sqrt(x*x + y*y)\nc = x/r\ns = y/r\nr, c, s", ("x", "y"),
                           lambda m, x, y: (m.sqrt(x * x + y * y), x / m.sqrt(x * x + y * y),
                                            y / m.sqrt(x * x + y * y))),
        "spherical Jacobian": ("x = r*sin(t)*cos(p)\ny = r*sin(t)*sin(p)\nz = r*cos(t)\nx, y, z",
                               ("r", "t", "p"),
                               lambda m, r, t, p: (r * m.sin(t) * m.cos(p), r * m.sin(t) * m.sin(p),
                                                   r * m.cos(t))),
    }
    for case, (text, ins, fml) in cases.items():
        args = [rng.uniform(0.5, 2.0, n) for _ in ins]
        j = symdiff.jacobian(text)
        j(**{k: a[:10] for k, a in zip(ins, args)})
        _, jac = j(**dict(zip(ins, args)))
        base = row(case, "symdiff", lambda: j(**dict(zip(ins, args))))
        first, second = j.outputs[1], ins[1]
        if jax is not None:
            fn = jax.jit(jax.vmap(jax.jacfwd(lambda *a: fml(jax.numpy, *a), argnums=tuple(range(len(ins))))))
            out = fn(*args)
            check_close(f"jax {case}", out[1][1], jac[first][second], rtol=1e-9)
            row(case, "JAX jit(vmap(jacfwd))", lambda: jax.block_until_ready(fn(*args)), base)
        if torch is not None:
            from torch.func import jacfwd as tjacfwd
            tfn = tvmap(tjacfwd(lambda *a: fml(torch, *a), argnums=tuple(range(len(ins)))))
            targs = [torch.from_numpy(a) for a in args]
            out = tfn(*targs)
            check_close(f"torch {case}", out[1][1].numpy(), jac[first][second], rtol=1e-9)
            row(case, "torch vmap(jacfwd)", lambda: tfn(*targs), base)

    # -- cost against the forward pass, in time --------------------------------------------
    x, y = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    for text in ("log(1 + exp(x*y))*tanh(x - y)", ROSENBROCK_TEXT):
        d, jv, hv = symdiff.differentiate(text), symdiff.jvp(text), symdiff.hvp(text)
        at, along = {"x": x, "y": y}, {"x": y, "y": x}
        for warm in (lambda: d.value(**at), lambda: jv(at, along), lambda: hv(at, along)):
            warm()
        case = f"cost of {text}"
        base = row(case, "forward (value only)", lambda: d.value(**at))
        row(case, f"JVP ({jv.stats().ratio:.2f}x forward ops)", lambda: jv(at, along), base)
        row(case, f"HVP ({hv.stats().ratio:.2f}x forward ops)", lambda: hv(at, along), base)

    lines = [f"Second-order benchmarks, N = {n:,} points, one thread (pinned), float64; best CPU "
             "time of repeats (robust to other tenants), best wall time beside it", "",
             "| case | implementation | CPU ms | wall ms | ratio to the case's first row (CPU) |",
             "| --- | --- | ---: | ---: | ---: |"]
    for case, impl, ms, ref, wall in rows:
        lines.append(f"| {case} | {impl} | {ms:.1f} | {wall:.1f} | {'' if ref is None else f'{ms / ref:.1f}x'} |")
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main()
