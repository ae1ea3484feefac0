"""Gradient check: symdiff's gradient against central finite differences.

Central differences with steps h and h/2, combined by Richardson extrapolation
(``(4*D(h/2) - D(h))/3``): the h**2 error term cancels, so fast-oscillating formulas
(``sin(3000*x)``) are not reported as wrong when the step is what is off."""
import numpy as np

STEP = 6e-6      # about cbrt(machine epsilon): balances truncation and rounding error
TOLERANCE = 1e-6


class CheckReport:
    def __init__(self, point, rows):
        self.point = point
        self.rows = rows   # (name, analytic, numeric, relative error)
        self.errors = {name: err for name, _, _, err in rows}
        self.ok = all(err <= TOLERANCE for err in self.errors.values())

    def __str__(self):
        at = ", ".join(f"{k}={_fmt(v)}" for k, v in self.point.items())
        lines = [f"gradient check at {at}",
                 f"  central differences at h and h/2 (Richardson), h = {STEP:g}*max(1, |x|); "
                 f"pass if rel. error <= {TOLERANCE:g}",
                 f"  {'input':<10} {'symdiff':>22} {'finite diff.':>22} {'rel. error':>11}"]
        for name, a, n, err in self.rows:
            where = ""
            if np.ndim(a) or np.ndim(n):   # arrays: show the point with the largest error
                a, n = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(n, dtype=float))
                rel = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), 1.0)
                worst = np.unravel_index(np.nanargmax(rel), a.shape) if a.size and not np.all(np.isnan(rel)) \
                    else (0,) * a.ndim
                where = f"  worst of {a.size} points, at {list(map(int, worst))}" if a.size else "  (no points)"
                a, n = (a[worst], n[worst]) if a.size else (np.nan, np.nan)
            lines.append(f"  {name:<10} {_fmt(a):>22} {_fmt(n):>22} {err:>11.2e}{where}")
        lines.append("  OK" if self.ok else "  FAILED: some gradients disagree with finite differences")
        return "\n".join(lines)

    def __repr__(self):
        return f"<CheckReport ok={self.ok} errors={self.errors}>"


def _fmt(v):
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{float(a):.16g}"
    return np.array2string(a, threshold=6, edgeitems=2, separator=", ",
                           formatter={"float_kind": lambda x: f"{x:.6g}"}).replace("\n", "")


def _central(d, base, name, h):
    x = base[name]
    up = dict(base, **{name: x + h})
    down = dict(base, **{name: x - h})
    return (np.asarray(d.value(**up)) - np.asarray(d.value(**down))) / (2 * h)


def gradient_check(d, point):
    value, grad = d(**point)
    base = {k: np.asarray(v, dtype=np.float64) for k, v in point.items()}
    rows = []
    for name in d.wrt:
        x = base[name]
        h = STEP * np.maximum(1.0, np.abs(x))
        wide, narrow = (_central(d, base, name, step) for step in (h, h / 2))
        numeric = narrow + (narrow - wide) / 3
        analytic = np.asarray(grad[name])
        scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1.0)
        with np.errstate(invalid="ignore"):
            err = float(np.nanmax(np.abs(analytic - numeric) / scale)) if np.size(scale) else 0.0
        if not np.all(np.isfinite(analytic) == np.isfinite(numeric)):
            err = float("inf")
        rows.append((name, grad[name] if np.ndim(analytic) == 0 else analytic,
                     float(numeric) if np.ndim(numeric) == 0 else numeric, err))
    return CheckReport(point, rows)
