"""The report as one self-contained HTML page (inline CSS and SVG, no script, no network).

Stable hooks for readers and the browser test: every goal is a ``<section class="goal"
data-goal=ID>``; every chart a ``<figure class="chart" data-chart=NAME>``; every candidate a
``<tr class="candidate" data-cycle=ID data-outcome=OUTCOME>`` whose diff link is
``a.diff``. Every text from the records is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from engine.report import charts
from engine.report.data import METRICS, GoalReport

_CSS = """
body{font-family:sans-serif;margin:2em;color:#222;max-width:1400px}
h1{margin-bottom:.2em} .meta{color:#666;margin-top:0}
section.goal{border-top:2px solid #ddd;margin-top:2em;padding-top:1em}
.charts{display:flex;flex-wrap:wrap;gap:1em} figure.chart{margin:0;width:640px}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:left;vertical-align:top;font-size:.9em} th{background:#f4f4f4}
tr[data-outcome=merged] td.outcome{color:#1a7f37;font-weight:bold}
tr[data-outcome=rejected] td.outcome,tr[data-outcome=reverted] td.outcome{color:#cf222e}
tr[data-outcome=review] td.outcome{color:#9a6700;font-weight:bold}
.stats td:first-child{font-weight:bold} .empty{font-size:1.2em;color:#666}
"""


def _figure(name: str, svg: str) -> str:
    return f'<figure class="chart" data-chart="{escape(name)}">{svg}</figure>'


def _charts(goal: GoalReport) -> list[str]:
    out = []
    labels = [p.label for p in goal.points]
    if goal.points:
        for i, (name, title, _) in enumerate(METRICS):
            series = [
                ("target (baseline)", [p.baseline[i] for p in goal.points]),
                ("candidate", [p.candidate[i] for p in goal.points]),
            ]
            if any(v is not None for _, values in series for v in values):
                out.append(_figure(name, charts.line_chart(title, labels, series)))
        rois = [p.roi for p in goal.points]
        if any(r is not None for r in rois):
            out.append(_figure("roi", charts.line_chart("ROI per cycle", labels, [("ROI", rois)])))
    if goal.outcomes:
        out.append(_figure("outcomes", charts.bar_chart("Outcomes", goal.outcomes)))
    if goal.reasons:
        bars = goal.reasons
        out.append(_figure("reasons", charts.bar_chart("Rejection reasons", bars, horizontal=True)))
    if goal.steps:
        steps = charts.bar_chart("Mean seconds per step", goal.steps, horizontal=True)
        out.append(_figure("steps", steps))
    return out


def _stats(goal: GoalReport) -> str:
    rate = goal.acceptance
    rows = [
        ("cycles", str(goal.cycles)),
        (
            "acceptance rate",
            f"{rate:.0%} ({goal.merged} merged of {goal.proposed} proposed)"
            if rate is not None
            else "no candidate proposed yet",
        ),
        ("model spend", f"{goal.tokens_in}+{goal.tokens_out} tokens, ${goal.cost_usd:.4f}"),
    ]
    for phrase in goal.outlook:  # "progress: ...", "next: ...", "forecast: ..."
        key, _, value = phrase.partition(": ")
        rows.append((key, value))
    body = "".join(
        f'<tr data-stat="{escape(k)}"><td>{escape(k)}</td><td>{escape(v)}</td></tr>'
        for k, v in rows
    )
    return f'<table class="stats">{body}</table>'


def _table(goal: GoalReport, diffs: Mapping[str, str]) -> str:
    if not goal.rows:
        return "<p>No candidates yet.</p>"
    head = "".join(
        f"<th>{h}</th>" for h in ("started", "outcome", "summary", "deltas", "cause", "diff")
    )
    rows = []
    for r in goal.rows:
        link = diffs.get(r.cycle_id)
        diff = (
            f'<a class="diff" href="{escape(link)}">{escape(r.branch or r.commit[:12])}</a>'
            if link
            else "not in this clone"
        )
        rows.append(
            f'<tr class="candidate" data-cycle="{escape(r.cycle_id)}" '
            f'data-outcome="{escape(r.outcome)}">'
            f"<td>{escape(r.started)}</td><td class='outcome'>{escape(r.outcome)}</td>"
            f"<td class='summary'>{escape(r.summary)}</td><td class='deltas'>"
            f"{escape(r.deltas)}</td><td class='cause'>{escape(r.cause)}</td><td>{diff}</td></tr>"
        )
    return f'<table class="candidates"><tr>{head}</tr>{"".join(rows)}</table>'


def render_page(
    goals: Sequence[GoalReport], *, title: str, meta: str, diffs: Mapping[str, str]
) -> str:
    """The whole page; ``diffs`` maps a cycle id to its diff's relative link."""
    if goals:
        body = "".join(
            f'<section class="goal" data-goal="{escape(g.goal)}"><h2>{escape(g.goal)}</h2>'
            f"{_stats(g)}<div class='charts'>{''.join(_charts(g))}</div>"
            f"<h3>Candidates</h3>{_table(g, diffs)}</section>"
            for g in goals
        )
    else:
        body = (
            '<p class="empty" id="no-cycles">No cycles recorded yet: run '
            "<code>ratchet run-once</code> (or start the daemon), then "
            "<code>ratchet report</code> again.</p>"
        )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(meta)}</p>{body}</body></html>\n'
    )


def render_diff_page(title: str, diff: str) -> str:
    """A diff as a small HTML page (added lines green, removed red); the raw ``.diff`` file
    sits next to it for ``git apply``."""
    lines = []
    for line in diff.splitlines():
        color = ""
        if line.startswith("+") and not line.startswith("+++"):
            color = "#e6ffec"
        elif line.startswith("-") and not line.startswith("---"):
            color = "#ffebe9"
        style = f' style="background:{color}"' if color else ""
        lines.append(f"<span{style}>{escape(line)}</span>")
    text = "\n".join(lines) or "(empty diff)"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f'<pre class="diff">{text}</pre></body></html>\n'
    )
