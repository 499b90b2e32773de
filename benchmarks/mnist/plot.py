"""The Pareto figure of an MNIST results file: test error against parameters, one panel per
network, one line per method and strength schedule."""

from benchmarks import resultfiles
from benchmarks.mnist.config import ARCH_LABEL, ARCHS
from benchmarks.mnist.rows import METHOD_ORDER, SCHEDULE_SUFFIX, configurations, method_label

SCHEDULE_LINESTYLE = {"global": "--", "params-rule": ":"}
MARKERS = dict(zip(METHOD_ORDER, "s^vXoDP*h"))


def pareto_plot(payload, path):
    """Test error vs parameters for every run, one marker per method, one panel per network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = [a for a in ARCHS if any(r["arch"] == a for r in payload["runs"])]
    if not archs:
        return None
    figure, axes = plt.subplots(1, len(archs), figsize=(6.5 * len(archs), 4.8), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        _panel(ax, [r for r in payload["runs"] if r["arch"] == arch], arch,
               payload["targets"][arch])
    saved = resultfiles.save_figure(figure, path)
    plt.close(figure)  # rewritten after every run: pyplot would keep each one open
    return saved


def _panel(ax, rows, arch, target):
    import matplotlib.ticker

    for method in METHOD_ORDER:
        for schedule in (None, "per-layer", *SCHEDULE_SUFFIX):
            pts = configurations([r for r in rows if r["method"] == method
                                  and r.get("schedule") == schedule])
            if not pts:
                continue
            pts.sort(key=lambda r: r["params"])  # one point per configuration: seed means
            ax.plot([r["params"] for r in pts], [r["error_pct"] for r in pts],
                    marker=MARKERS.get(method, "o"),
                    linestyle=SCHEDULE_LINESTYLE.get(schedule, "-"),
                    label=method + SCHEDULE_SUFFIX.get(schedule, ""), alpha=0.85)
    ax.axhline(target["error_pct"], color="grey", linewidth=0.8, linestyle=":")
    top = 2.5 * target["error_pct"]
    hidden = [r for r in rows if r["final_error_pct"] > top]
    ax.set_ylim(bottom=0, top=top)
    if hidden:  # the axis stops at 2.5x the target so the runs near it stay readable
        ax.text(0.02, 0.02, f"{len(hidden)} run(s) above {top:.1f}% not shown: "
                + ", ".join(f"{method_label(r)} {r['final_error_pct']:.1f}%" for r in hidden),
                transform=ax.transAxes, fontsize=7, va="bottom")
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("parameters (after shrink)")
    ax.set_ylabel("test error % (after fine-tune)")
    ax.set_title(f"{ARCH_LABEL[arch]} on MNIST")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
