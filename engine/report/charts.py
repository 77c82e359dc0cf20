"""The report's plots as inline SVG: the only module that imports pygal.

pygal (pure Python, ~130 KB, no numpy) renders each chart to an SVG string that is inlined
in the page; ``js=[]`` leaves out its tooltip script, which it would otherwise load from
the network: the page needs no server, no CDN and no JavaScript. Every plotted value is in
the DOM (pygal writes ``<desc class="value">`` per point), which the browser test reads.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

from engine.errors import InputError

_SIZE = {"width": 640, "height": 300}
_COMMENT = re.compile(r"<!--.*?-->", re.S)  # pygal's banner comments: bytes, no content


def _pygal() -> Any:
    try:
        import pygal
    except ImportError as exc:  # a broken or partial install: say how to fix it
        raise InputError(
            "ratchet report needs the plotting library pygal, which is not importable "
            f"({exc}); install it with `python -m pip install pygal` (it is a dependency "
            "of ratchetd: reinstall with `python -m pip install -e .`)"
        ) from exc
    _drop_legacy_finders()
    return pygal


def _drop_legacy_finders() -> None:
    """Take pygal's map-plugin import hook off ``sys.meta_path``. Importing pygal appends a
    finder without ``find_spec`` (``PluginImportFixer``, for ``pygal.maps.*`` plugins, which
    the report does not use); every later failed import in the process then warns
    ``ImportWarning: ... falling back to find_module()`` — an error under warnings-as-errors,
    e.g. radon's ``import StringIO`` probe when metrics are measured afterwards."""
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not (type(finder).__name__ == "PluginImportFixer" and not hasattr(finder, "find_spec"))
    ]


def _config(title: str, **extra: Any) -> dict[str, Any]:
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        font_family="sans-serif",
        colors=("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"),
    )
    return {
        "title": title,
        "js": [],  # no script from the network
        "disable_xml_declaration": True,
        "style": style,
        "print_values": False,
        "show_legend": True,
        "legend_at_bottom": True,
        "truncate_legend": 40,
        "truncate_label": 20,
        **_SIZE,
        **extra,
    }


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> str:
    """A line chart: one x label per cycle, one line per series (None: a gap)."""
    pygal = _pygal()
    chart = pygal.Line(**_config(title, x_label_rotation=30, allow_interruptions=True))
    chart.x_labels = list(labels)
    for name, values in series:
        chart.add(name, list(values))
    return _COMMENT.sub("", str(chart.render(is_unicode=True)))


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, horizontal: bool = False) -> str:
    """One bar per (name, value), each its own series so the legend names it."""
    pygal = _pygal()
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(**_config(title, print_values=True))
    for name, value in bars:
        chart.add(name, [value])
    return _COMMENT.sub("", str(chart.render(is_unicode=True)))
