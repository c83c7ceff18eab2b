"""Runs drawn against their documented numbers (matplotlib, imported when drawing): a panel per metric, one
zoomed to the documented numbers where they cover less than half the run, and the verdict's band."""
from __future__ import annotations

from dataclasses import dataclass

from . import compare, pooling, registry, results
from .curve import FINAL_TEST_ACCURACY, Point
from .spec import titled


@dataclass(frozen=True)
class _Runs:
    """What a panel draws: a variant's runs, their curves, and the comparison its verdict and band come from."""
    name: str
    fixes: tuple[str, ...]
    records: list[dict]
    curves: list[list[Point]]
    result: compare.Comparison

    @classmethod
    def compared(cls, name: str, fixes: tuple[str, ...], records: list[dict]) -> _Runs:
        return cls(name, fixes, records, *pooling.compared(name, fixes, records))


def figure(name: str, fixes: tuple[str, ...], records: list[dict], title: str | None = None):
    """A variant's runs as one matplotlib figure, a panel per metric, and one zoomed to the documented numbers
    where they cover less than half of the steps run (final-state's 125 numbers sit in its first 2,500 of 20,000)."""
    import matplotlib.pyplot as plt
    runs = _Runs.compared(name, fixes, records)
    curves, result = runs.curves, runs.result
    panels = [(metric, zoom) for metric in _metrics(curves) for zoom in (None, _zoom(name, fixes, metric, curves))
              if zoom is not False]
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), squeeze=False)
    for ax, (metric, zoom) in zip(axes[:, 0], panels):
        _panel(ax, runs, metric)
        if zoom:
            ax.set_xlim(-zoom * 0.02, zoom * 1.04)
            ax.set_title("zoomed to the documented numbers", fontsize=8)
    fig.suptitle(f"{title or titled(name, fixes)}: {len(curves)} seed(s); verdict: {result.verdict}{_cut(records)}")
    fig.tight_layout()
    return fig


def draw(name: str, fixes: tuple[str, ...], records: list[dict], ax=None):
    """Runs of a variant against its documented numbers: a figure, or on `ax` (one Axes per metric)."""
    if ax is None:
        return figure(name, fixes, records)
    runs = _Runs.compared(name, fixes, records)
    curves, result = runs.curves, runs.result
    metrics = _metrics(curves)
    axes = list(ax.flat) if hasattr(ax, "flat") else list(ax) if isinstance(ax, (list, tuple)) else [ax]
    if len(axes) != len(metrics):
        raise ValueError(f"{titled(name, fixes)} has {len(metrics)} metric(s) to draw "
                         f"({', '.join(compare.LABELS.get(m, m) for m in metrics)}): give as many Axes "
                         f"(plt.subplots({len(metrics)})), or none for a figure")
    for one, metric in zip(axes, metrics):
        _panel(one, runs, metric)
        one.set_title(f"verdict: {result.verdict}{_cut(records)}", fontsize=8)
    return ax


def _metrics(curves: list[list[Point]]) -> list[str]:
    """What a figure draws, a panel each: every metric but the one final number."""
    return sorted({p.metric for c in curves for p in c} - {FINAL_TEST_ACCURACY})


def _zoom(name: str, fixes: tuple[str, ...], metric: str, curves: list[list[Point]]) -> float | bool:
    """The last documented step, where the documented numbers cover less than half of the run; else False."""
    reference = None if fixes else registry.load(name).reference
    documented = [p.at for p in reference.points if p.metric == metric] if reference else []
    ran = max((p.at for c in curves for p in c if p.metric == metric), default=0)
    return max(documented) if documented and max(documented) < ran / 2 else False


def _cut(records: list[dict]) -> str:
    """What the title adds for runs that did not run the whole schedule."""
    cut = sorted({f"{r['steps_run']} of {r['steps_total']} steps" for r in records
                  if r["truncated"] or r["status"] != results.COMPLETE})
    return f" (cut short: {', '.join(cut)})" if cut else ""


def _panel(ax, runs: _Runs, metric: str) -> None:
    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator
    rows = [r for r in runs.result.rows if r.metric == metric and r.half_width is not None]
    if rows:  # the band the verdict uses: around the seeds' mean (one run: its value), at each checkpoint
        # an accuracy lies in [0, 1] and a loss is not negative: the band is drawn where values can be
        low, high = (0.0, 1.0) if metric in compare.ACCURACIES else (0.0, float("inf"))
        ax.fill_between([r.at for r in rows], [max(low, r.reproduced - r.half_width) for r in rows],
                        [min(high, r.reproduced + r.half_width) for r in rows], color="0.85",
                        label=f"95% band of the verdict ({len(runs.curves)} seed{'s' * (len(runs.curves) > 1)})")
    colours = colormaps["tab10"]
    seeds = [record["seed"] for record in runs.records]
    for i, (seed, curve) in enumerate(sorted(zip(seeds, runs.curves), key=lambda sc: sc[0])):
        ax.plot([p.at for p in curve if p.metric == metric], [p.value for p in curve if p.metric == metric],
                color=colours(i % 10), lw=0.8, alpha=0.8, label=f"seed {seed}")
    reference = None if runs.fixes else registry.load(runs.name).reference
    # the verdict's numbers as dots, any others of the same recipe as crosses
    for other, style in zip((reference, *reference.also) if reference else (), ("o", "x", "+", "^")):
        ref = [p for p in other.points if p.metric == metric]
        ax.plot([p.at for p in ref], [p.value for p in ref], style, color="black" if style == "o" else "0.4",
                ms=3.5, label=other.label)
    if metric in compare.EPOCH_METRICS:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_xlabel("step (the tutorial's loop counter)")
    ax.set_ylabel(compare.LABELS.get(metric, metric))
    ax.legend(loc="best", fontsize=7, ncol=2)
