"""symdiff.fit against scipy's curve_fit on the NIST StRD nonlinear regression problems
entered in tests/data/nist_strd.json, from both of NIST's starting points.

For each problem and start: the significant digits reached (the log relative error, LRE,
against NIST's certified values; the minimum over the parameters and, separately, over the
standard errors), and the wall time of the fit. Peers: curve_fit at its defaults
(finite-difference Jacobian) and with tolerances at 1e-15. "reached" counts the fits with
6 digits in every parameter and 3 in every standard error.

    python -m benchmarks fit               # or: python -m benchmarks.bench_fit
"""
from __future__ import annotations

import json
import math
import os
import time
import warnings

import numpy as np

from . import common
from .common import Row, Table, peer, symdiff_api

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data",
                    "nist_strd.json")


def lre(value, certified):
    if not np.isfinite(value):
        return 0.0
    if value == certified:
        return 15.0
    return max(0.0, min(15.0, -math.log10(abs(value - certified) / abs(certified))))


def numpy_model(text, inputs=("x",)):
    """The model text as a NumPy function of (X, *b) for curve_fit, X the rows of the inputs
    (trusted text from the data file of this repository, not user input)."""
    from symdiff.api import differentiate
    d = differentiate(text)
    names = [k for k in d.inputs if k not in inputs]

    def f(X, *b):
        return d.value(**dict(zip(inputs, X)), **dict(zip(names, b)))
    return f, names


def main(quick: bool = False) -> list[Table]:
    sd = symdiff_api()
    scipy = peer("scipy")
    with open(DATA, encoding="utf-8") as fh:
        problems = json.load(fh)["problems"]
    table = Table("Fits: NIST StRD problems from both starts (LRE = significant digits; params / stderr)",
                  ratio_label="time / symdiff", chart=False)
    counts = {"symdiff.fit": 0, "curve_fit": 0, "curve_fit tol 1e-15": 0}
    total = 0
    for name, p in problems.items():
        names = [f"b{i + 1}" for i in range(len(p["certified"]))]
        inputs = [k for k in ("x", "x1", "x2") if k in p]     # Nelson has two predictors
        data = {k: np.array(p[k]) for k in (*inputs, "y")}
        X, y = np.vstack([data[k] for k in inputs]), data["y"]
        f, order = numpy_model(p["model"], inputs)
        for k, start in enumerate(p["starts"]):
            total += 1
            sd.fit(p["model"], data, dict(zip(names, start)))     # compile outside the timing
            t0 = time.perf_counter()
            r = sd.fit(p["model"], data, dict(zip(names, start)))
            t_sd = time.perf_counter() - t0
            rows = [("symdiff.fit", [r.params[n] for n in names], [r.stderr[n] for n in names], t_sd)]
            if scipy is not None:
                from scipy.optimize import curve_fit
                for label, kw in (("curve_fit", {}),
                                  ("curve_fit tol 1e-15", dict(ftol=1e-15, xtol=1e-15, gtol=1e-15, maxfev=100000))):
                    p0 = [dict(zip(names, start))[n] for n in order]
                    t0 = time.perf_counter()
                    try:
                        with warnings.catch_warnings(), np.errstate(all="ignore"):
                            warnings.simplefilter("ignore")
                            popt, pcov = curve_fit(f, X, y, p0=p0, **kw)
                        got = dict(zip(order, popt))
                        se = dict(zip(order, np.sqrt(np.diag(pcov))))
                        rows.append((label, [got[n] for n in names], [se[n] for n in names],
                                     time.perf_counter() - t0))
                    except Exception as exc:       # curve_fit raises when it does not converge
                        rows.append((label, [math.nan] * len(names), [math.nan] * len(names),
                                     time.perf_counter() - t0, type(exc).__name__))
            for row in rows:
                label, values, errs, seconds = row[:4]
                dp = min(lre(v, c) for v, c in zip(values, p["certified"]))
                known = [(e, c) for e, c in zip(errs, p["stderr"]) if c is not None]
                ds = min(lre(e, c) for e, c in known) if known else 15.0
                ok = dp >= 6 and ds >= 3
                counts[label] += ok
                table.add(Row(f"{name} start {k + 1}", label, seconds * 1e3, "ms", None, None,
                              seconds / t_sd, f"LRE {dp:.1f} / {ds:.1f}" + (" ok" if ok else " **missed**")
                              + (f" ({row[4]})" if len(row) > 4 else "")))
    for label, c in counts.items():
        table.notes.append(f"{label}: 6 digits in the parameters and 3 in the standard errors on {c} of {total}.")
    table.notes.append("Times are single wall-clock runs after a warm-up fit (the symdiff kernel compiled "
                       "and cached); symdiff.fit runs three solvers and restarts by default.")
    return [table]


if __name__ == "__main__":
    tables = main(quick=common.QUICK)
    print()
    for t in tables:
        print(t.markdown())
    print(common.versions_markdown())
