"""``FitResult.plot()`` and ``symdiff fit --plot``: data, fitted curve, residuals
(matplotlib, the optional ``plot`` extra)."""
import numpy as np

from .errors import FormulaError


def plot(result, x=None, ax=None, path=None):
    """Two panels: data and fitted curve over ``x``, residuals below. Returns the figure;
    ``path`` saves it (the format from the file name)."""
    try:
        import matplotlib
        if path is not None and ax is None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise FormulaError("plotting needs matplotlib", hint='pip install "symdiff-backprop[plot]"') from None
    if result._data is None:      # a fit on Dask data: its columns were never gathered
        raise FormulaError("this fit has no data in memory to plot (a fit on Dask data keeps none)",
                           hint="plot a sample: fit it in memory, or draw r.predict(x=...) yourself")
    data = result._data
    axes = [k for k in data if k not in (result.target, "fit_sigma")]
    if x is None:
        if len(axes) != 1:
            raise FormulaError(f"the model has {len(axes)} data columns ({', '.join(axes)}): which is the x axis?",
                               hint=f"plot(x={axes[0]!r})" if axes else "give data columns")
        x = axes[0]
    if x not in axes:
        raise FormulaError(f"{x!r} is not a data column of the fit", hint="data columns: " + ", ".join(axes))
    xs = np.asarray(data[x], dtype=float)
    ys = np.asarray(data[result.target], dtype=float)
    fitted = np.asarray(result.predict(**{k: np.asarray(data[k], dtype=float) for k in axes}))
    if ax is None:
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6.4, 5.6),
                                          gridspec_kw={"height_ratios": [3, 1]})
    else:
        top, bottom, fig = ax, None, ax.figure
    top.plot(xs, ys, ".", label=f"data ({result.target})", alpha=0.7)
    if len(axes) == 1:
        grid = np.linspace(xs.min(), xs.max(), 400)
        top.plot(grid, result.predict(**{x: grid}), "-", label="fit")
    else:       # other inputs vary too: the fitted value at each point, not a curve through them
        top.plot(xs, fitted, "x", label="fit (at each point)", alpha=0.8)
    top.set_ylabel(result.target)
    top.set_title(result.model if len(result.model) < 70 else result.model[:67] + "...", fontsize=9)
    top.legend()
    if bottom is not None:
        bottom.axhline(0.0, color="gray", lw=0.8)
        bottom.plot(xs, ys - fitted, ".", alpha=0.7)
        bottom.set_ylabel("residual")
        bottom.set_xlabel(x)
    fig.tight_layout()
    if path is not None:
        try:
            fig.savefig(path)
        except (OSError, ValueError) as exc:     # no such folder, an unknown image format
            raise FormulaError(f"cannot write the plot to {path}: {getattr(exc, 'strerror', None) or exc}",
                               hint="give a path in an existing folder ending in .png, .pdf or .svg") from None
        finally:
            plt.close(fig)
    return fig
