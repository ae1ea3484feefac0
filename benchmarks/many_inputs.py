"""Per-call cost against the number of inputs (issue 13: argument checking was quadratic).

    python -m benchmarks.many_inputs            # 10,000 / 40,000 / 100,000 inputs

For a sum of n squared inputs, prints the time of one scalar call (value and gradient)
after the first two (the first runs plain Python, the second builds the tape), and the
time of the argument check alone. Target: a 40,000-input scalar call in at most 1 s,
growing linearly. Before the fix (a tuple lookup per input): 9.6-16 s at 40,000 inputs,
102-184 s at 100,000.
"""
import sys
import time

import symdiff


def measure(n, repeats=3):
    d = symdiff.differentiate(" + ".join(f"x{i}*x{i}" for i in range(n)))
    args = {f"x{i}": 1.0 for i in range(n)}
    d(**args)
    d(**args)
    best = best_check = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        value, grad = d(**args)
        best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        d._arguments(args)
        best_check = min(best_check, time.perf_counter() - t0)
    assert value == n and grad["x0"] == 2.0
    return best, best_check


def main(sizes=(10_000, 40_000, 100_000)):
    print("| inputs | scalar call | argument check | per input (call) |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        call, check = measure(n)
        print(f"| {n:,} | {call * 1e3:.0f} ms | {check * 1e3:.0f} ms | {call / n * 1e6:.2f} us |", flush=True)


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (10_000, 40_000, 100_000))
