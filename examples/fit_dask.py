"""Fit b1*(1 - exp(-b2*x)) to N points held as a chunked Dask array, on a LocalCluster of
worker processes, and the same fit with NumPy on this machine for comparison.

    python examples/fit_dask.py                     # N = 10**8 (needs ~5 GB of memory per copy)
    python examples/fit_dask.py --n 1e6 --chunk 2.5e5 --workers 2
    python examples/fit_dask.py --n 1e8 --no-numpy  # only the distributed fit
    python examples/fit_dask.py --scheduler tcp://host:8786   # on a running Dask cluster

Each chunk is generated on its worker (nothing of size N crosses the network): every
evaluation of the least-squares solvers is one distributed pass returning each chunk's R
factor of [J | r] ((p + 1)**2 numbers). The single-machine run (with ``--numpy``, the default up to 2*10**7
points) fits the same data in memory with symdiff.fit's default solver.
"""
import argparse
import contextlib
import os
import time

import numpy as np

TRUE = {"b1": 238.94, "b2": 5.5e-4}
START = {"b1": 500.0, "b2": 1e-4}
MODEL = "b1*(1 - exp(-b2*x))"


def chunk(seed, size):
    """One chunk of the synthetic measurements: x in [0, 800), noise 0.5 (reproducible)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 800.0, size)
    y = TRUE["b1"] * (1.0 - np.exp(-TRUE["b2"] * x)) + rng.normal(0.0, 0.5, size)
    return np.stack([x, y])


def dask_data(n, size):
    import dask
    import dask.array as da
    sizes = [size] * (n // size) + ([n % size] if n % size else [])
    parts = [da.from_delayed(dask.delayed(chunk)(seed, m), shape=(2, m), dtype=np.float64)
             for seed, m in enumerate(sizes)]
    both = da.concatenate(parts, axis=1)
    return both[0], both[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=float, default=1e8, help="points (default 1e8)")
    p.add_argument("--chunk", type=float, default=5e6, help="points per chunk (default 5e6)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    p.add_argument("--numpy", dest="numpy", action="store_true", default=None,
                   help="also fit in memory with NumPy (default: when N <= 2e7)")
    p.add_argument("--no-numpy", dest="numpy", action="store_false")
    p.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler to use (default: start a LocalCluster)")
    args = p.parse_args(argv)
    for name, value in (("--n", args.n), ("--chunk", args.chunk)):
        if not (value >= 1 and value == int(value)):
            p.error(f"{name} must be a whole number of points, at least 1 (got {value:g})")
    for name, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value < 1:
            p.error(f"{name} must be at least 1 (got {value})")
    n, size = int(args.n), int(args.chunk)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(args.threads))

    import symdiff
    from distributed import Client, LocalCluster

    if args.scheduler:
        cluster = contextlib.nullcontext(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=args.threads, processes=True,
                               dashboard_address=None, silence_logs=40)
    with cluster as address, Client(address) as client:
        workers = len(client.scheduler_info()["workers"])
        import dask
        x, y = dask.persist(*dask_data(n, size))     # generated once, kept on the workers
        dask.compute(x.sum(), y.sum())
        symdiff.fit(MODEL, {"x": x[:1000], "y": y[:1000]}, START)     # workers load the kernel
        t = time.perf_counter()
        r = symdiff.fit(MODEL, {"x": x, "y": y}, START)
        seconds = time.perf_counter() - t
    print(r)
    print(f"dask: {n:.3g} points in chunks of {size:.3g} on {workers} worker processes "
          f"x {args.threads} thread(s): {seconds:.2f} s, {r.steps} distributed passes, "
          f"{n * r.steps / seconds / 1e6:.1f} M point-evaluations/s")
    if args.numpy if args.numpy is not None else n <= 2 * 10**7:
        data = np.concatenate([chunk(seed, min(size, n - start)) for seed, start in enumerate(range(0, n, size))], axis=1)
        symdiff.fit(MODEL, {"x": data[0, :1000], "y": data[1, :1000]}, START)   # compile outside the timing
        t = time.perf_counter()
        ref = symdiff.fit(MODEL, {"x": data[0], "y": data[1]}, START)
        seconds_np = time.perf_counter() - t
        print(f"numpy (this process, in memory): {seconds_np:.2f} s, {ref.steps} evaluations, "
              f"{n * ref.steps / seconds_np / 1e6:.1f} M point-evaluations/s")
        print("largest relative difference in the parameters:",
              max(abs(r.params[k] / ref.params[k] - 1) for k in ref.params))
    return 0 if r.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
