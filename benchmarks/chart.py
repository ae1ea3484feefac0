"""RESULTS.png: the ratio column of every chartable table as horizontal bars.

matplotlib is optional (``pip install matplotlib``, or the ``plot`` extra): without it
``write_chart`` prints a note and returns None.
"""

from __future__ import annotations

import math

FAMILIES = [  # (prefix of the implementation label, lower case) -> colour
    ("symdiff", "#d62728"),
    ("hand-written", "#7f7f7f"),
    ("torch", "#ff7f0e"),
    ("jax", "#1f77b4"),
    ("sympy", "#2ca02c"),
    ("casadi", "#9467bd"),
    ("micrograd", "#8c564b"),
]


def colour(impl: str) -> str:
    low = impl.lower()
    return next((c for prefix, c in FAMILIES if low.startswith(prefix)), "#17becf")


def chart_rows(table) -> list[tuple[str, str, float]]:
    """(bench, impl, ratio) of the rows that have a positive ratio."""
    return [(r.bench, r.impl, r.ratio) for r in table.rows
            if r.ratio is not None and r.ratio > 0 and math.isfinite(r.ratio)]


def write_chart(tables, path: str, title: str = "symdiff benchmarks") -> str | None:
    """Draw the ratios of ``tables`` (those with ``chart`` true) into ``path``.

    Returns the path, or None (with a printed note) when matplotlib is missing or no
    table has ratios.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed, so no chart was written "
              "(pip install matplotlib, or pip install symdiff-backprop[plot])", flush=True)
        return None
    panels = [(t, chart_rows(t)) for t in tables if getattr(t, "chart", False)]
    panels = [(t, rows) for t, rows in panels if rows]
    if not panels:
        print("note: no table with ratios, so no chart was written", flush=True)
        return None
    heights = [len(rows) + len({b for b, _, _ in rows}) + 2 for _, rows in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 0.24 * sum(heights) + 1),
                             gridspec_kw=dict(height_ratios=heights), squeeze=False)
    for ax, (table, rows) in zip(axes[:, 0], panels):
        labels, values, colours, ticks = [], [], [], []
        y = 0
        last_bench = None
        for bench, impl, ratio in rows:
            if bench != last_bench:
                if last_bench is not None:
                    y += 1                     # a gap between benchmarks
                last_bench = bench
            ticks.append(y)
            labels.append(f"{bench}: {impl}")
            values.append(ratio)
            colours.append(colour(impl))
            y += 1
        ax.barh(ticks, values, color=colours, height=0.8)
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", linewidth=0.8)
        target = getattr(table, "target", None)
        lo = min(values + [1.0])
        hi = max(values + [1.0, target or 1.0])
        wide = hi / lo > 20              # log axis; narrow ranges read better linear
        if wide:
            ax.set_xscale("log")
            ax.set_xlim(lo / 1.6, hi * 4)
        else:
            ax.set_xlim(0, hi * 1.15)
        if target:
            ax.axvline(target, color="#d62728", linewidth=0.8, linestyle="--")
            ax.text(target, 0.02, f" target {target:g}", color="#d62728", fontsize=7,
                    va="bottom", transform=ax.get_xaxis_transform())
        for t, v in zip(ticks, values):
            ax.text(v * 1.08 if wide else v + hi * 0.01, t, f"{v:.3g}", va="center", fontsize=6)
        ax.set_title(table.title, fontsize=9, loc="left")
        ax.set_xlabel(table.ratio_label + (" (log scale)" if wide else ""), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", which="both", alpha=0.25)
    fig.suptitle(title, fontsize=10, x=0.01, ha="left")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
