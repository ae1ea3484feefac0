"""What ``symdiff.fit`` returns (``FitResult``: values, errors, table, notebook reprs,
predict, source, plot) and its progress report (``Progress``)."""
import math
import sys
import time

from .errors import FormulaError
from .parser import closest


class FitResult:
    """What ``symdiff.fit`` returns: ``params`` and ``stderr`` (dicts by parameter),
    ``covariance`` (in the order of ``names``), ``loss``, ``success``, ``message``, ``steps``
    (model evaluations), ``predict(**data)``, ``source`` and ``plot()``."""

    def __init__(self, model, d, names, x, stderr, covariance, loss, success, message, steps,
                 method, n, loss_name, data=None, target="y", extra_source=""):
        self.model = model
        self.derivative = d
        self.names = list(names)
        self.params = {k: float(v) for k, v in zip(names, x)}
        self.stderr = {k: float(v) for k, v in zip(names, stderr)}
        self.covariance = covariance
        self.loss = float(loss)
        self.success = bool(success)
        self.message = message
        self.steps = int(steps)
        self.method = method
        self.n = n
        self.loss_name = loss_name
        self.target = target
        self._data = data
        self._extra_source = extra_source

    data_names = ()     # the columns of the data fitted to (set by symdiff.fit)

    def predict(self, **data):
        """The model at the fitted parameters, on new data (the data names only): the dict
        the fit was given works too (its target and the columns the model does not read
        are left out)."""
        inputs = dict(self.params)
        clash = [k for k in data if k in inputs]
        if clash:
            raise FormulaError(f"{clash[0]!r} is a fitted parameter", hint="predict takes the data names only")
        unread = {self.target, *self.data_names} - set(self.derivative.inputs)
        wanted = [k for k in self.derivative.inputs if k not in self.params]
        unknown = [k for k in data if k not in unread and k not in self.derivative.inputs]
        if unknown:    # (the derivative's own message listed the fitted parameters as inputs)
            close = closest(unknown[0], wanted)
            raise FormulaError(f"{unknown[0]!r} is not a data name of the model",
                               hint=(f"did you mean {close!r}? " if close else "")
                               + "r.predict(" + ", ".join(f"{k}=..." for k in wanted) + ")")
        inputs.update((k, v) for k, v in data.items() if k not in unread)
        missing = [k for k in self.derivative.inputs if k not in inputs]
        if missing:    # (the derivative's own message asked for the fitted parameters too)
            raise FormulaError(f"predict needs the data column {missing[0]!r}",
                               hint="r.predict(" + ", ".join(f"{k}=..." for k in wanted) + ")")
        return self.derivative.value(**inputs)

    @property
    def source(self):
        """The generated code the fit ran: the model's value and Jacobian (and the loss)."""
        return self.derivative.source + (("\n\n" + self._extra_source) if self._extra_source else "")

    def _rows(self):
        return [(k, self.params[k], self.stderr[k]) for k in self.names]

    def _header(self):
        state = "converged" if self.success else "NOT CONVERGED"
        return (f"symdiff fit of {self.model!r}: {state} ({self.message}), "
                f"loss {self.loss_name} = {self.loss:.10g}, {self.steps} evaluations, {self.n} points")

    def __str__(self):
        rows = self._rows()
        width = max(9, *(len(k) for k, _, _ in rows))
        lines = [self._header(), f"{'parameter':<{width}}  {'value':>18}  {'stderr':>12}"]
        lines += [f"{k:<{width}}  {v:>18.10g}  {s:>12.5g}" for k, v, s in rows]
        return "\n".join(lines)

    def __repr__(self):
        return f"<symdiff.FitResult {', '.join(f'{k}={v:.6g}' for k, v in self.params.items())}" \
               f"{'' if self.success else ' (not converged)'}>"

    def _repr_markdown_(self):
        lines = [self._header().replace("|", "\\|"), "", "| parameter | value | stderr |", "|---|---:|---:|"]
        lines += [f"| {k} | {v:.10g} | {s:.5g} |" for k, v, s in self._rows()]
        return "\n".join(lines)

    def _repr_html_(self):
        import html
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.10g}</td><td>{s:.5g}</td></tr>"
                       for k, v, s in self._rows())
        return (f"<p>{html.escape(self._header())}</p><table><tr><th>parameter</th><th>value</th>"
                f"<th>stderr</th></tr>{rows}</table>")

    def plot(self, x=None, ax=None, path=None):
        """Data, fitted curve and residuals (matplotlib, the ``plot`` extra). ``x``: the data
        column on the horizontal axis (default: the only one besides the target)."""
        from .fit_plot import plot
        return plot(self, x=x, ax=ax, path=path)


class Progress:
    """verbose=True: a line on stderr at most every half second (a tqdm bar when tqdm is
    installed), and a last line when the fit ends."""

    def __init__(self, verbose):
        self.verbose = verbose
        self.count = 0
        self.best = math.inf
        self._last = 0.0
        self._bar = None
        if verbose:
            try:
                from tqdm import tqdm
                self._bar = tqdm(desc="symdiff fit", unit=" eval", file=sys.stderr)
            except ImportError:
                pass

    def step(self, loss):
        self.count += 1
        if math.isfinite(loss):
            self.best = min(self.best, loss)
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{self.best:.6g}", refresh=False)
            return
        now = time.monotonic()
        if now - self._last > 0.5:
            self._last = now
            print(f"symdiff fit: evaluation {self.count}, loss {self.best:.10g}", file=sys.stderr)

    def close(self, message):
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.close()
        print(f"symdiff fit: {message} after {self.count} evaluations, loss {self.best:.10g}", file=sys.stderr)
