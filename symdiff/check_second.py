"""``symdiff.check`` for Hessians, Jacobians, JVPs and HVPs: central differences (at h and
h/2, Richardson-extrapolated, as ``gradcheck``) of the gradient for Hessians and HVPs, of
the values for Jacobians and JVPs."""
import numpy as np

from .gradcheck import STEP, CheckReport


def _central(fn, base, direction, scale):
    """Richardson-extrapolated central difference of fn (-> list of arrays) along direction."""
    def at(h):
        up = {k: v + h * direction.get(k, 0.0) for k, v in base.items()}
        down = {k: v - h * direction.get(k, 0.0) for k, v in base.items()}
        return [(np.asarray(a) - np.asarray(b)) / (2 * h) for a, b in zip(fn(up), fn(down))]
    h = STEP * scale
    wide, narrow = at(h), at(h / 2)
    return [n + (n - w) / 3 for w, n in zip(wide, narrow)]


def _row(name, analytic, numeric):
    analytic, numeric = np.asarray(analytic, dtype=float), np.asarray(numeric, dtype=float)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), 1.0)
    with np.errstate(invalid="ignore"):
        err = float(np.nanmax(np.abs(analytic - numeric) / scale)) if np.size(scale) else 0.0
    if not np.all(np.isfinite(analytic) == np.isfinite(numeric)):
        err = float("inf")
    shown = (lambda v: float(v) if np.ndim(v) == 0 else v)
    return (name, shown(analytic), shown(numeric), err)


def _scale(base, names):
    return np.maximum(1.0, max((np.max(np.abs(base[n])) for n in names), default=1.0))


def _check_point(d, point):
    """The primals and the vector (``x_dot``...) of a JVP or HVP, each given once."""
    from .errors import FormulaError
    example = ", ".join([f"{k}=..." for k in d.inputs])
    for k in d.inputs:
        if k not in point:
            what = "the vector's component" if k not in d.primals else "input"
            raise FormulaError(f"check: missing {what} {k!r}", hint=f"symdiff.check(f, {example})")
    for k in point:
        if k not in d.inputs:
            raise FormulaError(f"check: unknown input {k!r}", hint=f"symdiff.check(f, {example})")


def check_report(d, point):
    """A ``CheckReport`` for a Hessian, Jacobian, JVP or HVP object at ``point`` (told
    apart by ``d.kind``: this module does not import them, so no import cycle)."""
    base = {k: np.asarray(v, dtype=np.float64) for k, v in point.items()}
    rows = []
    if d.kind == "hessian":
        f = d.program.output
        _, _, hess = d(**base)
        grads = lambda p: [d(**p)[1][w] for w in d.wrt]
        for b in d.wrt:
            numeric = _central(grads, base, {b: 1.0}, _scale(base, [b]))
            for a, n in zip(d.wrt, numeric):
                rows.append(_row(f"d2{f}/d{a}d{b}", hess[a][b], n))
    elif d.kind == "jacobian":
        _, jac = d(**base)
        values = lambda p: list(d(**p)[0].values())
        for a in d.wrt:
            numeric = _central(values, base, {a: 1.0}, _scale(base, [a]))
            for o, n in zip(d.outputs, numeric):
                rows.append(_row(f"d{o}/d{a}", jac[o][a], n))
    elif d.kind in ("jvp", "hvp"):
        _check_point(d, point)
        primals = {k: base[k] for k in d.primals}
        vector_names = d.inputs[len(d.primals):]
        vector = {w: base[v] for w, v in zip(d.wrt, vector_names)}
        result = d(primals, vector)
        if d.kind == "jvp":
            fn = lambda p: [d(p, vector)[0]]
            numeric = _central(fn, primals, vector, _scale(primals, d.wrt))
            rows.append(_row(f"d{d.program.output} along ({', '.join(vector_names)})", result[1], numeric[0]))
        else:
            fn = lambda p: [d(p, vector)[1][w] for w in d.wrt]
            numeric = _central(fn, primals, vector, _scale(primals, d.wrt))
            for w, n in zip(d.wrt, numeric):
                rows.append(_row(f"(H v)[{w}]", result[2][w], n))
    return CheckReport(point, rows)
