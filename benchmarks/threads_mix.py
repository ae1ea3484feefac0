"""Two-thread speedup of symdiff's prange kernel on a compute-bound formula.

    python benchmarks/threads_mix.py   (not -m: the benchmarks package pins one thread)

The neuron row in RESULTS.md is memory-bound (2.4 ms for 64 MB of inputs and outputs on
one thread), so a second thread cannot help it; the transcendental mix is compute-bound.
d(**inputs) picks its prange loop by itself when N >= 2**17 and Numba has > 1 thread.
"""
import os
import time

import numba
import numpy as np

import symdiff

FORMULA = "log(1 + exp(sin(x*y) + cos(x)/(1 + y*y)))*tanh(x - y)"


def main(n=10**6, repeats=15):
    d = symdiff.differentiate(FORMULA)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=n), rng.normal(size=n)
    best = {}
    for threads in (1, 2, 1, 2):           # alternate, keep the best of each
        numba.set_num_threads(threads)
        d(x=x, y=y)
        for _ in range(repeats):
            start = time.perf_counter()
            d(x=x, y=y)
            best[threads] = min(best.get(threads, 1e9), time.perf_counter() - start)
    print(f"{FORMULA}, N = {n:,}, value + 2 gradients, load average {os.getloadavg()[0]:.2f}")
    print(f"1 thread {best[1] * 1e3:.2f} ms, 2 threads {best[2] * 1e3:.2f} ms, "
          f"speedup {best[1] / best[2]:.2f}x")


if __name__ == "__main__":
    main()
