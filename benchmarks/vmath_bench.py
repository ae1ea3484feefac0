"""Benchmark codegen.vmath against math.* inside Numba loops (one thread).

    python benchmarks/vmath_bench.py [--n 1000000] [--repeat 15] [--asm]
    NUMBA_CPU_NAME=haswell python benchmarks/vmath_bench.py   # AVX2 only

For every function, times ``for i: out[i] = f(x[i])`` over N float64 compiled
with ``numba.njit(error_model="numpy", fastmath=False)``, once with the
``math`` version (a scalar libm call: the loop does not vectorize) and once
with the ``vmath`` version, and reports ns/element and the speedup.  It also
times the same loops with ``fastmath={"contract"}`` (FMA contraction only),
the packed-instruction counts found in the generated assembly (proof of
vectorization), and the "transcendental mix" formula

    f(x, y) = log(1 + exp(sin(x*y) + cos(x)/(1 + y*y))) * tanh(x - y)

forward only, plus value + both gradients (hand-written fused kernel), next
to torch (one thread) when torch is installed.
"""

import argparse
import math
import os
import re
import sys
import time

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import numba  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from codegen import vmath  # noqa: E402


def _loop(f, flags):
    @numba.njit(**flags)
    def run(x, out):
        for i in range(x.size):
            out[i] = f(x[i])
    return run


def _sum_sincos(sincos):
    @numba.njit(inline="always")
    def f(x):
        s, c = sincos(x)
        return s + c
    return f


def best_time(fn, *args, repeat=15):
    """Best of `repeat` runs, in CPU seconds of this process.

    CPU time rather than wall time: everything here runs on one thread, and
    CPU time is far less disturbed by other processes sharing the machine.
    """
    fn(*args)                                    # compile + warm up
    ts = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn(*args)
        ts.append(time.process_time() - t0)
    return min(ts)


def packed_counts(dispatcher):
    asm = dispatcher.inspect_asm(dispatcher.signatures[0])
    return (len(re.findall(r"\b\w+pd\s+.*%[yz]mm", asm)),
            "zmm" if "zmm" in asm else ("ymm" if "ymm" in asm else "xmm"))


# -- the mix formula --------------------------------------------------------

def make_mix(exp, log, sin, cos, tanh, flags):
    @numba.njit(**flags)
    def mix(x, y, out):
        for i in range(x.size):
            a = x[i]
            b = y[i]
            out[i] = log(1.0 + exp(sin(a * b) + cos(a) / (1.0 + b * b))) \
                * tanh(a - b)

    @numba.njit(**flags)
    def mix_grad(x, y, out, gx, gy):
        for i in range(x.size):
            a = x[i]
            b = y[i]
            ab = a * b
            d = 1.0 + b * b
            ca = cos(a)
            u = sin(ab) + ca / d
            e = exp(u)
            sp = log(1.0 + e)
            t = tanh(a - b)
            out[i] = sp * t
            du = t * e / (1.0 + e)          # d f / d u
            dv = sp * (1.0 - t * t)         # d f / d(a - b)
            cab = cos(ab)
            gx[i] = du * (cab * b - sin(a) / d) + dv
            gy[i] = du * (cab * a - ca * 2.0 * b / (d * d)) - dv
    return mix, mix_grad


def make_mix_grad_sincos(exp, log, sincos, tanh, flags):
    """value + gradients using one vsincos per angle instead of sin + cos"""
    @numba.njit(**flags)
    def mix_grad(x, y, out, gx, gy):
        for i in range(x.size):
            a = x[i]
            b = y[i]
            ab = a * b
            d = 1.0 + b * b
            sab, cab = sincos(ab)
            sa, ca = sincos(a)
            u = sab + ca / d
            e = exp(u)
            sp = log(1.0 + e)
            t = tanh(a - b)
            out[i] = sp * t
            du = t * e / (1.0 + e)
            dv = sp * (1.0 - t * t)
            gx[i] = du * (cab * b - sa / d) + dv
            gy[i] = du * (cab * a - ca * 2.0 * b / (d * d)) - dv
    return mix_grad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--asm", action="store_true",
                    help="print a few packed instructions of vexp's loop")
    args = ap.parse_args(argv)
    numba.set_num_threads(1)
    n = args.n
    rng = np.random.default_rng(0)

    base = dict(error_model="numpy", fastmath=False)
    contract = dict(error_model="numpy", fastmath={"contract"})
    vm = vmath.jit_namespace(numba.njit, inline="always", **base)
    vmc = vmath.jit_namespace(numba.njit, inline="always", **contract)
    sig = lambda x: 1.0 / (1.0 + math.exp(-x))           # noqa: E731
    softplus = lambda x: math.log1p(math.exp(x))        # noqa: E731
    cases = [  # name, math version, input range
        ("exp", math.exp, (-700.0, 700.0)),
        ("expm1", math.expm1, (-5.0, 5.0)),
        ("log", math.log, (1e-300, 1e300)),
        ("log1p", math.log1p, (-0.9, 10.0)),
        ("sin", math.sin, (-100.0, 100.0)),
        ("cos", math.cos, (-100.0, 100.0)),
        ("tanh", math.tanh, (-10.0, 10.0)),
        ("sigmoid", numba.njit(sig), (-30.0, 30.0)),
        ("softplus", numba.njit(softplus), (-30.0, 30.0)),
        ("sincos", None, (-100.0, 100.0)),   # sin(x) + cos(x) via vsincos
    ]
    m_sc = numba.njit(lambda x: math.sin(x) + math.cos(x))
    v_sc = {"base": _sum_sincos(vm.vsincos),
            "contract": _sum_sincos(vmc.vsincos)}
    print(f"numba {numba.__version__}, numpy {np.__version__}, N={n}, "
          f"1 thread, best of {args.repeat} (CPU time)")
    try:
        import llvmlite.binding as llb
        print("host CPU (LLVM):", llb.get_host_cpu_name(),
              "| numba target:", numba.config.CPU_NAME or "host")
    except Exception:                                      # pragma: no cover
        pass
    print()
    hdr = (f"{'function':9s} {'math ns/el':>10s} {'vmath ns/el':>11s} "
           f"{'speedup':>8s} {'+contract':>10s} {'speedup':>8s}  packed")
    print(hdr)
    print("-" * len(hdr))
    out = np.empty(n)
    for name, mf, (lo, hi) in cases:
        if name in ("log",):
            x = np.exp(rng.uniform(math.log(lo), math.log(hi), n))
        else:
            x = rng.uniform(lo, hi, n)
        if name == "sincos":
            mf, vf, vfc = m_sc, v_sc["base"], v_sc["contract"]
        else:
            vf = getattr(vm, "v" + name)
            vfc = getattr(vmc, "v" + name)
        lm = _loop(mf, base)
        lv = _loop(vf, base)
        lc = _loop(vfc, contract)
        tm = best_time(lm, x, out, repeat=args.repeat)
        tv = best_time(lv, x, out, repeat=args.repeat)
        tc = best_time(lc, x, out, repeat=args.repeat)
        npk, reg = packed_counts(lv)
        print(f"{name:9s} {tm / n * 1e9:10.2f} {tv / n * 1e9:11.2f} "
              f"{tm / tv:7.1f}x {tc / n * 1e9:10.2f} {tm / tc:7.1f}x  "
              f"{npk} ({reg})")
        if args.asm and name == "exp":
            asm = lv.inspect_asm(lv.signatures[0])
            lines = [ln.strip() for ln in asm.splitlines()
                     if re.search(r"vfmadd|vmulpd.*mm|vaddpd.*mm", ln)]
            print("   e.g.:", *lines[:6], sep="\n      ")

    # -- the mix formula ------------------------------------------------------
    x = rng.uniform(-3.0, 3.0, n)
    y = rng.uniform(-3.0, 3.0, n)
    out, gx, gy = np.empty(n), np.empty(n), np.empty(n)
    variants = {
        "math.*": make_mix(math.exp, math.log, math.sin, math.cos, math.tanh,
                           base),
        "vmath": make_mix(vm.vexp, vm.vlog, vm.vsin, vm.vcos, vm.vtanh, base),
        "vmath+contract": make_mix(vmc.vexp, vmc.vlog, vmc.vsin, vmc.vcos,
                                   vmc.vtanh, contract),
    }
    variants["vmath+sincos"] = (variants["vmath"][0], make_mix_grad_sincos(
        vm.vexp, vm.vlog, vm.vsincos, vm.vtanh, base))
    variants["vmath+sincos+contract"] = (
        variants["vmath+contract"][0], make_mix_grad_sincos(
            vmc.vexp, vmc.vlog, vmc.vsincos, vmc.vtanh, contract))
    print()
    print("mix: log(1 + exp(sin(x*y) + cos(x)/(1 + y*y))) * tanh(x - y), "
          f"N={n}, x,y ~ U(-3, 3)")
    res = {}
    for label, (fwd, grad) in variants.items():
        tf = best_time(fwd, x, y, out, repeat=args.repeat)
        r0 = out.copy()
        tg = best_time(grad, x, y, out, gx, gy, repeat=args.repeat)
        res[label] = (tf, tg, r0, gx.copy(), gy.copy())
    tf0, tg0, r0, gx0, gy0 = res["math.*"]
    for label, (tf, tg, r, gxx, gyy) in res.items():
        err = max(np.max(np.abs(r - r0) / np.maximum(np.abs(r0), 1e-300)),
                  np.max(np.abs(gxx - gx0) / np.maximum(np.abs(gx0), 1.0)),
                  np.max(np.abs(gyy - gy0) / np.maximum(np.abs(gy0), 1.0)))
        print(f"  {label:22s} forward {tf * 1e3:7.2f} ms ({tf0 / tf:4.1f}x)   "
              f"value+grads {tg * 1e3:7.2f} ms ({tg0 / tg:4.1f}x)   "
              f"max rel diff vs math {err:.1e}")
    try:
        import torch
    except ImportError:                                    # pragma: no cover
        print("  (torch not installed: no torch comparison)")
        return
    torch.set_num_threads(1)
    tx = torch.from_numpy(x)
    ty = torch.from_numpy(y)

    def t_fwd():
        return torch.log(1 + torch.exp(torch.sin(tx * ty)
                                       + torch.cos(tx) / (1 + ty * ty))) \
            * torch.tanh(tx - ty)

    def t_grad():
        a = tx.detach().requires_grad_(True)
        b = ty.detach().requires_grad_(True)
        f = torch.log(1 + torch.exp(torch.sin(a * b)
                                    + torch.cos(a) / (1 + b * b))) \
            * torch.tanh(a - b)
        ga, gb = torch.autograd.grad(f, (a, b), torch.ones_like(f))
        return f, ga, gb

    with torch.no_grad():
        tt = best_time(t_fwd, repeat=args.repeat)
    ttg = best_time(t_grad, repeat=args.repeat)
    tf_v, tg_v = res["vmath"][:2]
    print(f"  {'torch (1 thread)':22s} forward {tt * 1e3:7.2f} ms "
          f"          value+grads {ttg * 1e3:7.2f} ms")
    print(f"  vmath vs torch: forward {tt / tf_v:.1f}x faster, "
          f"value+grads {ttg / tg_v:.1f}x faster")


if __name__ == "__main__":
    main()
