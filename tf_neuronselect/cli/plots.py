"""The demo's two PNG figures (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def units_over_time(tracker, path):
    """Alive units per layer against training steps (ShrinkNets' Figure 1 style)."""
    steps, per_layer = tracker.per_layer()
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, counts in per_layer.items():
        axis.plot(steps, counts, marker="o", markersize=3, label=name)
    axis.set_xlabel("training step")
    axis.set_ylabel("alive units")
    axis.set_yscale("log")
    axis.set_title("Units alive per layer while training")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def widths_before_after(layers, path):
    """Bar chart of each layer's width before and after shrinking."""
    names = [layer["name"] for layer in layers]
    positions = range(len(names))
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.bar([p - 0.2 for p in positions], [l["units_total"] for l in layers], 0.4, label="before")
    axis.bar([p + 0.2 for p in positions], [l["units_alive"] for l in layers], 0.4, label="after")
    axis.set_xticks(list(positions), names, rotation=30)
    axis.set_ylabel("units")
    axis.set_yscale("log")
    axis.set_title("Layer widths before and after shrinking")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
