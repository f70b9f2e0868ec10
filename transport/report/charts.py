"""Charts as inline SVG strings: no JavaScript, no chart library, nothing to download.

Each function takes figures already computed by the engine and returns one ``<svg>`` element
that scales to the width of the page (``viewBox``), with a text alternative for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

from transport.formatting import money_short

GOOD = "#1b7f3b"
BAD = "#b3261e"
NEUTRAL = "#1f4e79"
GRID = "#d9dde3"
INK = "#1d2329"
MUTED = "#5b6570"
#: Colours of scenarios in the ride-time chart (the baseline first).
SCENARIO_COLOURS = ("#1d2329", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    t = start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "", **kw) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{attrs}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str = "", **kw) -> str:
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in kw.items())
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" '
        f'fill="{fill}"{attrs}>{tip}</rect>'
    )


def bar_panels(
    labels: Sequence[str],
    panels: Sequence[tuple[str, Sequence[float]]],
    *,
    highlight: str | None = None,
    fmt: Callable[[float], str] = money_short,
    label: str = "Bar chart",
) -> str:
    """Small multiples: one horizontal bar chart per panel, one row per label.

    ``panels`` is ``[(title, values), ...]`` with a value per label; each panel has its own
    scale from zero. The ``highlight`` label is drawn in bold.
    """
    label_w, panel_w, value_w, row_h, top = 150.0, 215.0, 62.0, 28.0, 34.0
    width = label_w + panel_w * len(panels)
    height = top + row_h * len(labels) + 8
    body = []
    for i, name in enumerate(labels):
        y = top + i * row_h + row_h / 2 + 4
        weight = "700" if name == highlight else "400"
        body.append(_text(label_w - 10, y, clip(name, 22), anchor="end", font_weight=weight))
    for p, (title, values) in enumerate(panels):
        x0 = label_w + p * panel_w
        bar_w = panel_w - value_w - 16
        body.append(_text(x0 + 4, 18, title, cls="panel-title"))
        lo, hi = min(0.0, *values), max(0.0, *values)
        span = (hi - lo) or 1.0
        zero = x0 + 4 + bar_w * (-lo / span)
        body.append(
            f'<line x1="{zero:.1f}" y1="{top - 6}" x2="{zero:.1f}" '
            f'y2="{height - 6:.1f}" stroke="{MUTED}" stroke-width="1"/>'
        )
        for i, (name, v) in enumerate(zip(labels, values, strict=True)):
            y = top + i * row_h + 5
            fill = NEUTRAL if v >= 0 else BAD
            opacity = "1" if name == highlight or highlight is None else "0.75"
            body.append(
                _rect(
                    zero,
                    y,
                    bar_w * v / span,
                    row_h - 10,
                    fill,
                    f"{name}: {fmt(v)}",
                    fill_opacity=opacity,
                )
            )
            body.append(
                _text(x0 + panel_w - 12, y + row_h / 2 + 0, fmt(v), anchor="end", cls="value")
            )
    return _svg(width, height, body, label)


def waterfall(
    steps: Sequence[tuple[str, float]],
    *,
    total_label: str,
    target: float,
    label: str = "Waterfall of savings",
) -> str:
    """A savings waterfall: each step adds its saving; the last bar is the total; a target line.

    Positive steps are savings (green), negative steps extra costs (red); the total bar is
    green when it reaches ``target`` and blue otherwise.
    """
    width, height, left, right, top, bottom = 760.0, 340.0, 78.0, 150.0, 24.0, 46.0
    running, bars = 0.0, []
    for name, delta in steps:
        bars.append((name, running, running + delta, delta))
        running += delta
    total = running
    values = [0.0, target, total] + [b for _, a, b, _ in bars] + [a for _, a, _, _ in bars]
    ticks = nice_ticks(min(values), max(values))
    lo, hi = ticks[0], ticks[-1]
    plot_h = height - top - bottom

    def y(v: float) -> float:
        return top + plot_h * (hi - v) / ((hi - lo) or 1.0)

    body = []
    for t in ticks:
        body.append(
            f'<line x1="{left}" y1="{y(t):.1f}" x2="{width - right + 40}" y2="{y(t):.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 8, y(t) + 4, money_short(t), anchor="end", cls="tick"))
    n = len(bars) + 1
    slot = (width - left - right) / n
    bw = slot * 0.62
    for i, (name, a, b, delta) in enumerate(bars):
        x = left + i * slot + (slot - bw) / 2
        colour = GOOD if delta >= 0 else BAD
        body.append(
            _rect(
                x,
                y(max(a, b)),
                bw,
                y(min(a, b)) - y(max(a, b)),
                colour,
                f"{name}: {money_short(delta)}",
            )
        )
        body.append(
            _text(x + bw / 2, y(max(a, b)) - 6, _signed(delta), anchor="middle", cls="value")
        )
        body.append(_text(x + bw / 2, height - bottom + 18, name, anchor="middle", cls="tick"))
        nx = left + (i + 1) * slot + (slot - bw) / 2
        body.append(
            f'<line x1="{x + bw:.1f}" y1="{y(b):.1f}" x2="{nx:.1f}" y2="{y(b):.1f}" '
            f'stroke="{MUTED}" stroke-dasharray="2 2"/>'
        )
    x = left + len(bars) * slot + (slot - bw) / 2
    colour = GOOD if total >= target else NEUTRAL
    body.append(
        _rect(
            x,
            y(max(total, 0)),
            bw,
            abs(y(0) - y(total)),
            colour,
            f"{total_label}: {money_short(total)}",
        )
    )
    body.append(
        _text(
            x + bw / 2,
            y(max(total, 0)) - 6,
            money_short(total),
            anchor="middle",
            cls="value",
            font_weight="700",
        )
    )
    body.append(
        _text(
            x + bw / 2,
            height - bottom + 18,
            total_label,
            anchor="middle",
            cls="tick",
            font_weight="700",
        )
    )
    body.append(
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right + 40}" y2="{y(0):.1f}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    body.append(
        f'<line class="target-line" x1="{left}" y1="{y(target):.1f}" x2="{width - right + 40}" '
        f'y2="{y(target):.1f}" stroke="{BAD}" stroke-width="2" stroke-dasharray="7 4"/>'
    )
    body.append(
        _text(
            width - right + 46,
            y(target) + 4,
            f"Target {money_short(target)}",
            cls="target-label",
            fill=BAD,
            font_weight="700",
        )
    )
    return _svg(width, height, body, label)


def _signed(v: float) -> str:
    return ("+" if v > 0 else "") + money_short(v)


def ride_time_chart(
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    bin_min: float = 5.0,
    limits: Sequence[float] = (45.0, 75.0),
    label: str = "Ride times",
) -> str:
    """Share of pupils by ride time (``bin_min``-minute bins), one line per scenario."""
    width, height, left, right, top, bottom = 760.0, 300.0, 52.0, 20.0, 40.0, 40.0
    # the legend: one entry per scenario, wrapped onto as many rows as it needs
    legend, lx, ly = [], left, 14.0
    for name, values in series:
        text = f"{clip(name, 24)} ({len(values)} pupils)"
        w = 40 + 6.2 * len(text)
        if lx + w > width - right and lx > left:
            lx, ly = left, ly + 18
        legend.append((lx, ly, text))
        lx += w
    top += ly - 14
    height += ly - 14
    longest = max([max(v) for _, v in series if len(v)] + [max(limits, default=0.0), bin_min])
    nbins = int(math.floor(longest / bin_min)) + 2
    shares = []
    for _, values in series:
        counts = [0] * nbins
        for v in values:
            counts[min(int(v // bin_min), nbins - 1)] += 1
        total = len(values) or 1
        shares.append([100.0 * c / total for c in counts])
    ticks = nice_ticks(0.0, max([max(s) for s in shares] + [1.0]), 4)
    hi = ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(m: float) -> float:
        return left + plot_w * m / (nbins * bin_min)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / hi)

    body = []
    for t in ticks:
        body.append(
            f'<line x1="{left}" y1="{y(t):.1f}" x2="{width - right}" y2="{y(t):.1f}" '
            f'stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, y(t) + 4, f"{t:g}%", anchor="end", cls="tick"))
    step = 15 if nbins * bin_min > 90 else 10
    m = 0.0
    while m <= nbins * bin_min + 1e-9:
        body.append(_text(x(m), height - bottom + 16, f"{m:g}", anchor="middle", cls="tick"))
        m += step
    body.append(
        _text(
            left + plot_w / 2,
            height - 6,
            "minutes on board (home to school)",
            anchor="middle",
            cls="tick",
        )
    )
    for lim in limits:
        if lim <= nbins * bin_min:
            body.append(
                f'<line x1="{x(lim):.1f}" y1="{top}" x2="{x(lim):.1f}" '
                f'y2="{height - bottom}" stroke="{BAD}" stroke-dasharray="4 3"/>'
            )
            body.append(_text(x(lim) + 4, top + 12, f"{lim:g} min", cls="tick", fill=BAD))
    for i, (share, (lx, ly, text)) in enumerate(zip(shares, legend, strict=True)):
        colour = SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]
        pts = " ".join(f"{x((b + 0.5) * bin_min):.1f},{y(s):.1f}" for b, s in enumerate(share))
        dash = ' stroke-dasharray="6 3"' if i else ""
        body.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" '
            f'stroke-width="2.2"{dash}><title>{escape(series[i][0])}</title></polyline>'
        )
        body.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="3"{dash}/>'
        )
        body.append(_text(lx + 27, ly + 4, text, cls="tick"))
    return _svg(width, height, body, label)


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, float]]],
    keys: Sequence[str],
    colours: Mapping[str, str],
    *,
    unit: str = "",
    label: str = "Stacked bar chart",
) -> str:
    """Horizontal bars, one per row, stacked by key, with a legend and the row total."""
    label_w, bar_w, value_w, row_h, top = 340.0, 520.0, 60.0, 24.0, 34.0
    width = label_w + bar_w + value_w
    height = top + row_h * len(rows) + 6
    totals = [sum(v.get(k, 0.0) for k in keys) for _, v in rows]
    scale = bar_w / (max(totals, default=0.0) or 1.0)
    body = []
    lx = 10.0
    for k in keys:
        body.append(_rect(lx, 6, 12, 12, colours.get(k, MUTED)))
        body.append(_text(lx + 16, 16, k, cls="tick"))
        lx += 26 + 7.5 * len(k)
    for i, ((name, values), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * row_h
        body.append(_text(label_w - 8, y + row_h / 2 + 3, clip(name, 48), anchor="end"))
        x = label_w
        for k in keys:
            v = values.get(k, 0.0)
            if v:
                body.append(
                    _rect(
                        x,
                        y + 3,
                        v * scale,
                        row_h - 8,
                        colours.get(k, MUTED),
                        f"{name}, {k}: {v:g}{unit}",
                    )
                )
                x += v * scale
        body.append(_text(x + 6, y + row_h / 2 + 3, f"{total:g}{unit}", cls="value"))
    return _svg(width, height, body, label)


def clip(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters with an ellipsis."""
    return text if len(text) <= n else text[: n - 1] + "…"
