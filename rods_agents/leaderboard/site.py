"""``rods leaderboard build --out site/``: the static leaderboard from the verified submissions.

Writes ``index.html`` (one sortable table per suite and split, with per-domain columns and 95%
intervals, and a pass^k curve), ``leaderboard.md`` (the same tables in Markdown) and a copy of
each submission under ``submissions/``. Every submission is verified again first, and a bad one
stops the build. Text from a submission reaches the page only through ``html.escape`` (and, in
Markdown, a backslash before every character Markdown gives meaning to); the page's one script
sorts rows by moving them and never writes markup, and a Content-Security-Policy lets only that
script run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .atomic import write_atomically
from .plot import pass_k_svg
from .verify import Rejected, verify_file

SPLIT_ORDER = {"test": 0, "train": 1, "all": 2}


@dataclass
class Entry:
    file: str
    data: bytes
    name: str
    model: str
    spec: str
    sanity: bool
    suite: str
    split: str
    created: str
    summary: dict
    rank: int | None = None

    @property
    def pass1(self) -> float:
        return self.summary["pass_hat_k"][0]


def load_entries(folder: str | Path) -> list[Entry]:
    entries = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data, results = verify_file(path)
        except Rejected as rejection:
            raise Rejected(f"{path}: {rejection}") from None
        policy = results["policy"]
        entries.append(Entry(path.name, data, policy["name"], policy.get("model", ""), policy["spec"],
                             bool(policy.get("sanity_check")), results["suite"], results["split"],
                             str(results.get("run", {}).get("created", ""))[:10], results["summary"]))
    return entries


def boards(entries: list[Entry]) -> dict[tuple[str, str], list[Entry]]:
    """Entries grouped by (suite, split), best first, ranks given to all but sanity checks."""
    grouped: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        grouped.setdefault((entry.suite, entry.split), []).append(entry)
    ordered = {}
    for key in sorted(grouped, key=lambda k: (k[0], SPLIT_ORDER.get(k[1], 9), k[1])):
        rows = sorted(grouped[key], key=lambda e: (-e.pass1, -e.summary["progress"], e.name, e.file))
        rank = 0
        for entry in rows:
            if not entry.sanity:
                rank += 1
                entry.rank = rank
        ordered[key] = rows
    return ordered


def _domains(rows: list[Entry]) -> list[str]:
    return sorted({d for e in rows for d in e.summary["domains"]})


# -- HTML -------------------------------------------------------------------------------------------

SCRIPT = """
document.querySelectorAll("table.board").forEach(function (table) {
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function sortBy(index, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-sort"), y = b.cells[index].getAttribute("data-sort");
      var order = (isNaN(parseFloat(x)) || isNaN(parseFloat(y))) ? x.localeCompare(y) : parseFloat(x) - parseFloat(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    heads.forEach(function (head) { head.removeAttribute("aria-sort"); });
    heads[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  heads.forEach(function (head, index) {
    head.addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") !== "descending");
    });
  });
  var wanted = new URLSearchParams(location.hash.slice(1));
  var key = wanted.get("sort") || table.getAttribute("data-default-sort");
  var index = heads.findIndex(function (head) { return head.getAttribute("data-key") === key; });
  sortBy(index < 0 ? 0 : index, (wanted.get("order") || "desc") === "desc");
});
"""

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; }
.wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .92em; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; vertical-align: top; }
th { cursor: pointer; user-select: none; background: #f4f4f4; position: sticky; top: 0; }
th[aria-sort=descending]::after { content: " \\25BE"; } th[aria-sort=ascending]::after { content: " \\25B4"; }
td.text, th.text { text-align: left; white-space: normal; min-width: 7rem; max-width: 18rem; overflow-wrap: anywhere; }
th.date, td.date { text-align: left; }
.ci, .sub { display: block; font-size: .78em; color: #777; }
tr.sanity { color: #666; font-style: italic; background: #fafafa; }
.badge { white-space: nowrap; font-style: normal; font-size: .72em; background: #ffe9a8; color: #5a4500;
         border-radius: 3px; padding: 0 .35em; margin-left: .3em; }
svg.passk { max-width: 100%; height: auto; font-size: 12px; margin-top: 1rem; }
svg.passk .grid { stroke: #e3e3e3; } svg.passk text { fill: #444; }
.note { color: #555; max-width: 60rem; }
"""


def _number_cell(value: float | None, interval: list | None = None, sub: str = "") -> str:
    if value is None:
        return '<td data-sort="-1">–</td>'
    ci = f'<span class="ci">{interval[0]:.3f}–{interval[1]:.3f}</span>' if interval else ""
    extra = f'<span class="sub">{escape(sub)}</span>' if sub else ""
    return f'<td data-sort="{value:.6f}">{value:.3f}{ci}{extra}</td>'


def _html_board(suite: str, split: str, rows: list[Entry]) -> str:
    max_k = max(e.summary["trials"] for e in rows)
    domains = _domains(rows)
    heads = [("rank", "#", ""), ("name", "Policy", "text"), ("model", "Model", "text")]
    heads += [(f"pass{k}", f"pass^{k}", "") for k in range(1, max_k + 1)]
    heads += [("progress", "Progress", "")]
    heads += [(f"domain-{d}", f"{d} pass^1", "") for d in domains]
    heads += [("trials", "Trials", ""), ("date", "Date", "date")]
    head_html = "".join(f'<th data-key="{escape(key)}" class="{css}" scope="col">{escape(label)}</th>'
                        for key, label, css in heads)
    body = []
    for e in rows:
        s = e.summary
        cells = [f'<td data-sort="{e.rank if e.rank else 100000}">{e.rank or ""}</td>']
        badge = '<span class="badge">sanity check</span>' if e.sanity else ""
        cells.append(f'<td class="text" data-sort="{escape(e.name.lower())}">'
                     f'<a href="submissions/{escape(e.file)}" title="{escape(e.spec)}">{escape(e.name)}</a>{badge}</td>')
        cells.append(f'<td class="text" data-sort="{escape(e.model.lower())}">{escape(e.model)}</td>')
        for k in range(1, max_k + 1):
            has = k <= s["trials"]
            cells.append(_number_cell(s["pass_hat_k"][k - 1] if has else None, s["pass_hat_k_ci95"][k - 1] if has else None))
        cells.append(_number_cell(s["progress"], s["progress_ci95"]))
        for d in domains:
            part = s["domains"].get(d)
            cells.append(_number_cell(part["pass_hat_k"][0], part["pass_hat_k_ci95"][0], f"progress {part['progress']:.3f}")
                         if part else _number_cell(None))
        cells.append(f'<td data-sort="{s["trials"]}">{s["trials"]}</td>')
        cells.append(f'<td class="date" data-sort="{escape(e.created)}">{escape(e.created)}</td>')
        body.append(f'<tr class="{"sanity" if e.sanity else "entry"}">{"".join(cells)}</tr>')
    curves = [{"name": e.name, "values": e.summary["pass_hat_k"], "intervals": e.summary["pass_hat_k_ci95"],
               "sanity": e.sanity} for e in rows]
    return (f'<section><h2>{escape(suite)} · {escape(split)} split</h2>'
            f'<div class="wrap"><table class="board" data-default-sort="pass1">'
            f'<thead><tr>{head_html}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f'{pass_k_svg(curves)}</section>')


def render_html(grouped: dict[tuple[str, str], list[Entry]]) -> str:
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    policy = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; "
              "img-src 'none'; base-uri 'none'; form-action 'none'")
    sections = "".join(_html_board(suite, split, rows) for (suite, split), rows in grouped.items())
    if not sections:
        sections = "<p>No submissions yet.</p>"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rods leaderboard</title>
<style>{STYLE}</style>
</head>
<body>
<h1>rods leaderboard</h1>
<p class="note">Every row is a verified submission: <code>rods submit</code> recomputed its scores from its
per-trial records. <strong>pass^k</strong> is the chance that k trials of a task all succeed (tau-bench's estimate,
averaged over tasks); <strong>progress</strong> is the mean fraction of user turns passed. Small numbers under a
score are its 95% bootstrap interval over tasks. Rows marked <i>sanity check</i> read the gold plan (the
oracle) and are not ranked. Click a column to sort.</p>
{sections}
<script>{SCRIPT}</script>
</body>
</html>
"""


# -- Markdown ---------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_text(text: str) -> str:
    """Plain text in a Markdown table cell: HTML escaped (renderers pass raw HTML through),
    Markdown's own characters backslashed, line breaks flattened."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escape(" ".join(str(text).split()), quote=False))


def _md_score(value: float, interval: list) -> str:
    return f"{value:.3f} ({interval[0]:.3f}–{interval[1]:.3f})"


def render_markdown(grouped: dict[tuple[str, str], list[Entry]]) -> str:
    lines = ["# rods leaderboard", "",
             "pass^k: chance that k trials of a task all succeed, mean over tasks; progress: mean fraction "
             "of user turns passed; in brackets, 95% bootstrap intervals over tasks. Sanity checks are not ranked.", ""]
    for (suite, split), rows in grouped.items():
        max_k = max(e.summary["trials"] for e in rows)
        domains = _domains(rows)
        lines.append(f"## {md_text(suite)} / {md_text(split)}")
        lines.append("")
        header = ["#", "Policy", "Model"] + [f"pass^{k}" for k in range(1, max_k + 1)] + ["Progress"]
        header += [f"{d} pass^1" for d in domains] + ["Trials"]
        lines.append("| " + " | ".join(md_text(h) for h in header) + " |")
        lines.append("|" + "|".join("---" if i in (1, 2) else "--:" for i in range(len(header))) + "|")
        for e in rows:
            s = e.summary
            name = md_text(e.name) + (" *(sanity check)*" if e.sanity else "")
            cells = [str(e.rank or "–"), name, md_text(e.model)]
            cells += [_md_score(s["pass_hat_k"][k - 1], s["pass_hat_k_ci95"][k - 1]) if k <= s["trials"] else "–"
                      for k in range(1, max_k + 1)]
            cells.append(_md_score(s["progress"], s["progress_ci95"]))
            cells += [_md_score(s["domains"][d]["pass_hat_k"][0], s["domains"][d]["pass_hat_k_ci95"][0])
                      if d in s["domains"] else "–" for d in domains]
            cells.append(str(s["trials"]))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if not grouped:
        lines.append("No submissions yet.")
    return "\n".join(lines) + "\n"


# -- the build --------------------------------------------------------------------------------------

def build_site(out: str | Path, submissions: str | Path) -> list[Path]:
    """Verify every submission, then write the page, the Markdown table and the files' copies."""
    folder = Path(submissions)
    if not folder.is_dir():
        raise OSError(f"no submissions folder at {folder}")
    entries = load_entries(folder)
    grouped = boards(entries)
    out = Path(out)
    copies = out / "submissions"
    copies.mkdir(parents=True, exist_ok=True)
    kept = {e.file for e in entries}
    for stale in copies.glob("*.json"):
        if stale.name not in kept:
            stale.unlink()
    for entry in entries:
        write_atomically(copies / entry.file, entry.data)
    page, table = out / "index.html", out / "leaderboard.md"
    write_atomically(page, render_html(grouped).encode())
    write_atomically(table, render_markdown(grouped).encode())
    return [page, table, copies]
