"""The pass^k curve as inline SVG: one line per submission, k on x, pass^k on y, with its
bootstrap interval as a band. Written by hand so the page needs no plotting library; every label
goes through ``html.escape``."""

from __future__ import annotations

from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22"]
WIDTH, PLOT_HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 230, 16, 44      # margins; the legend sits in the right one
LEGEND_ROW = 18


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def pass_k_svg(curves: list[dict]) -> str:
    """``curves``: dicts with ``name``, ``values`` (pass^1..pass^n), ``intervals`` ([lo, hi] each)
    and ``sanity`` (drawn dashed)."""
    max_k = max((len(c["values"]) for c in curves), default=1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, PLOT_HEIGHT
    height = max(TOP + plot_h + BOTTOM, TOP + 10 + LEGEND_ROW * len(curves))   # room for every legend row

    def x(k: int) -> float:
        return LEFT + (plot_w / 2 if max_k == 1 else (k - 1) * plot_w / (max_k - 1))

    def y(value: float) -> float:
        return TOP + (1 - value) * plot_h

    parts = [f'<svg class="passk" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
             'role="img" aria-label="pass^k against k for each submission" xmlns="http://www.w3.org/2000/svg">']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for k in range(1, max_k + 1):
        parts.append(f'<text x="{x(k):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle">{k}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h + BOTTOM - 6}" text-anchor="middle">'
                 'k (trials that must all succeed)</text>'
                 f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">pass^k</text>')
    for index, curve in enumerate(curves):
        stroke, name = color(index), escape(curve["name"])
        values, intervals = curve["values"], curve["intervals"]
        upper = " ".join(f"{x(k):.1f},{y(hi):.1f}" for k, (_, hi) in enumerate(intervals, 1))
        lower = " ".join(f"{x(k):.1f},{y(lo):.1f}" for k, (lo, _) in reversed(list(enumerate(intervals, 1))))
        dash = ' stroke-dasharray="5 4"' if curve.get("sanity") else ""
        parts.append(f'<g class="curve"><title>{name}</title>'
                     f'<polygon points="{upper} {lower}" fill="{stroke}" fill-opacity="0.12" stroke="none"/>'
                     f'<polyline points="{" ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in enumerate(values, 1))}" '
                     f'fill="none" stroke="{stroke}" stroke-width="2"{dash}/>')
        for k, (v, (lo, hi)) in enumerate(zip(values, intervals), 1):
            parts.append(f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="3" fill="{stroke}">'
                         f'<title>{name}: pass^{k} = {v:.3f} [{lo:.3f}, {hi:.3f}]</title></circle>')
        parts.append("</g>")
        legend_y = TOP + 10 + index * LEGEND_ROW
        label = curve["name"] if len(curve["name"]) <= 28 else curve["name"][:27] + "…"
        parts.append(f'<line x1="{WIDTH - RIGHT + 16}" x2="{WIDTH - RIGHT + 36}" y1="{legend_y}" y2="{legend_y}" '
                     f'stroke="{stroke}" stroke-width="2"{dash}/>'
                     f'<text x="{WIDTH - RIGHT + 42}" y="{legend_y + 4}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
