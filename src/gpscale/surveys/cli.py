"""``gpscale survey``: validate survey files and build survey reports from the command line.

Mounted by the main CLI as ``gpscale survey``; usable alone as ``python -m gpscale.surveys.cli``.
Invalid input prints a table of problems (file, row, column, rule, message) and exits with status 1;
nothing is written. No tracebacks for data problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from gpscale.disclosure import TOTAL
from gpscale.surveys.codebook import CollaborationAnalysis, StaffAnalysis
from gpscale.surveys.errors import SurveyIssue, SurveyValidationError
from gpscale.surveys.responses import load_survey

if TYPE_CHECKING:
    from gpscale.surveys.report import SurveyReport

survey_app = typer.Typer(
    name="survey",
    help="Collaboration and staff surveys: validate a codebook and responses, or build a report.",
    no_args_is_help=True,
    add_completion=False,
)

#: errors shown before "and N more"
MAX_SHOWN = 50


def _console() -> Console:
    return Console(highlight=False, width=max(Console().width, 120))


def _issues_table(issues: list[SurveyIssue], title: str) -> Table:
    table = Table(title=title, show_lines=False, header_style="bold")
    for col in ("severity", "file", "row", "column", "rule", "message"):
        table.add_column(col, overflow="fold")
    for issue in issues[:MAX_SHOWN]:
        row = "" if issue.row is None else f"{issue.row_kind} {issue.row}"
        style = "red" if issue.severity == "error" else "yellow"
        table.add_row(
            f"[{style}]{issue.severity}[/]", Path(issue.file).name, row, issue.column or "", issue.rule, issue.message
        )
    return table


def _fail(console: Console, exc: SurveyValidationError) -> None:
    errors = exc.errors
    console.print(_issues_table(exc.issues, f"{len(errors)} error(s): the survey files are not valid"))
    if len(exc.issues) > MAX_SHOWN:
        console.print(f"... and {len(exc.issues) - MAX_SHOWN} more")
    console.print("[red]Fix the problems above and run again. Nothing was written.[/]")
    raise typer.Exit(code=1)


@survey_app.command("validate")
def validate(
    codebook: Path = typer.Argument(..., help="codebook YAML"),
    responses: Path = typer.Argument(..., help="responses CSV (one row per respondent)"),
) -> None:
    """Check a responses CSV against its codebook; list every problem with its row, column and rule."""
    console = _console()
    try:
        data = load_survey(codebook, responses)
    except SurveyValidationError as exc:
        _fail(console, exc)
        return
    cb = data.codebook
    if data.warnings:
        console.print(_issues_table(data.warnings, f"{len(data.warnings)} warning(s)"))
    answered = pd.Series({q.id: int(data.answered(q.id).sum()) for q in cb.questions})
    console.print(
        Panel.fit(
            f"[green]Valid.[/] {cb.title} ({cb.id}, version {cb.version})\n"
            f"{data.n_respondents:,} respondents, {len(cb.questions)} questions, {len(cb.derived)} derived variables"
            f", {len(cb.domains)} domains; analysis: {cb.analysis.kind}; "
            + ("weighted by " + cb.weight_column if cb.weight_column else "unweighted")
            + f"\nLeast answered question: {answered.idxmin()} ({answered.min():,} answers)",
            title="gpscale survey validate",
        )
    )


@survey_app.command("report")
def report(
    codebook: Path = typer.Argument(..., help="codebook YAML"),
    responses: Path = typer.Argument(..., help="responses CSV (one row per respondent)"),
    out: Path = typer.Option(..., "--out", "-o", help="directory for the tables and the HTML report"),
    confidence: float = typer.Option(0.95, "--confidence", help="confidence level of intervals, e.g. 0.95"),
    min_share: float | None = typer.Option(
        None, "--min-share", help="Table 1: list achievements cited by at least this share (default: codebook's)"
    ),
) -> None:
    """Analyse a survey: tidy tables (CSV and Parquet) and a self-contained HTML report in OUT."""
    console = _console()
    if not 0 < confidence < 1:
        console.print(f"[red]--confidence must be between 0 and 1 (e.g. 0.95), got {confidence}[/]")
        raise typer.Exit(code=2)
    if min_share is not None and not 0 < min_share <= 1:
        console.print(f"[red]--min-share must be in (0, 1], got {min_share}[/]")
        raise typer.Exit(code=2)
    from gpscale.surveys.report import build_survey_report

    try:
        with console.status("Validating and analysing the survey..."):
            result = build_survey_report(codebook, responses, out, confidence=confidence, min_share=min_share)
    except SurveyValidationError as exc:
        _fail(console, exc)
        return
    except OSError as exc:
        console.print(f"[red]Cannot write to {out}: {exc.strerror or exc}[/]")
        raise typer.Exit(code=1) from None
    print_summary(console, result)


def _say(console: Console, text: str) -> None:
    """Print a sentence without hard line breaks (terminals wrap it; logs and tests keep it whole)."""
    console.print(text, soft_wrap=True)


def _pct(x: Any) -> str:
    return "" if x is None or pd.isna(x) else f"{float(x) * 100:.1f}%"


def _ci(lo: Any, hi: Any) -> str:
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"{float(lo) * 100:.1f}–{float(hi) * 100:.1f}"


def _n(x: Any) -> str:
    return "hidden" if x is None or pd.isna(x) else f"{int(x):,}"


def print_summary(console: Console, result: SurveyReport) -> None:
    """The CLI's account of a report: headline tables, disclosure control, files written."""
    cb = result.codebook
    console.print(
        Panel.fit(
            f"{cb.title}\n{result.n_respondents:,} respondents"
            + (", weighted" if result.weighted else "")
            + f"; {result.confidence:.0%} intervals; cells with fewer than 10 respondents hidden, with complementary "
            "suppression against subtraction",
            title="gpscale survey report",
        )
    )
    a = cb.analysis
    if isinstance(a, CollaborationAnalysis):
        _print_collaboration(console, result)
    elif isinstance(a, StaffAnalysis):
        _print_staff(console, result, a)
    sup = result.table("suppression")
    _say(
        console,
        f"Disclosure control: {int(sup['hidden_primary'].sum())} cells hidden (fewer than 10 respondents), "
        f"{int(sup['hidden_complementary'].sum())} more hidden against subtraction; subtraction audit: "
        + ("passed" if (sup["subtraction_audit"] == "passed").all() else "; ".join(sup["subtraction_audit"])),
    )
    _say(
        console,
        f"Wrote {len(result.files)} files to {Path(result.files[0]).parent} "
        f"(report: {result.html_path.name if result.html_path else '-'})",
    )


def _print_collaboration(console: Console, result: SurveyReport) -> None:
    share = result.table("share_collaborating")
    t = Table(title="Practices in a collaboration", header_style="bold")
    for c in ("measure", "n", "%", "95% CI" if result.confidence == 0.95 else "interval"):
        t.add_column(c, justify="left" if c == "measure" else "right")
    for r in share.itertuples(index=False):
        t.add_row(str(r.measure_label), _n(r.n), _pct(r.share), _ci(r.lower, r.upper))
    console.print(t)
    if "table1" in result.tables:
        table1 = result.table("table1")
        min_share = float(table1["min_share"].iloc[0]) if len(table1) else 0.25
        t = Table(
            title=f"Table 1: achievements cited by at least {min_share:.0%} of collaborations, by months since forming",
            header_style="bold",
            show_lines=False,
        )
        columns: list[tuple[str, list[str]]] = []
        for _band, part in table1.groupby("band", sort=False):
            label = str(part["band_label"].iloc[0])
            if bool(part["suppressed"].iloc[0]):
                columns.append((f"{label} (hidden)", []))
            else:
                columns.append(
                    (
                        f"{label} (n = {int(part['band_n'].iloc[0]):,})",
                        [
                            f"{r.achievement_label}: {int(r.n):,} ({float(r.share) * 100:.0f}%)"
                            for r in part.itertuples(index=False)
                        ],
                    )
                )
        for head, _ in columns:
            t.add_column(head)
        for i in range(max((len(items) for _, items in columns), default=0)):
            t.add_row(*[items[i] if i < len(items) else "" for _, items in columns])
        console.print(t)
    if "reasons" in result.tables:
        reasons = result.table("reasons")
        top = [f"{r.reason_label} {_pct(r.share)}" for r in reasons.itertuples(index=False) if not r.suppressed][:5]
        if top:
            _say(console, "Top reasons for forming: " + "; ".join(top))


def _print_staff(console: Console, result: SurveyReport, a: StaffAnalysis) -> None:
    dom = result.table("domains")
    part = dom[dom["level"].isin([TOTAL, a.role])]
    domains = list(dict.fromkeys(part["domain_label"]))
    t = Table(
        title="Share positive by role (95% CI), by domain"
        if result.confidence == 0.95
        else "Share positive by role, by domain",
        header_style="bold",
    )
    t.add_column("role")
    t.add_column("n", justify="right")
    for d in domains:
        t.add_column(d, justify="right")
    for role_label, rows in part.groupby(f"{a.role}_label", sort=False):
        first = rows.iloc[0]
        cells = []
        for d in domains:
            r = rows[rows["domain_label"] == d]
            if r.empty or bool(r["suppressed"].iloc[0]):
                cells.append("hidden")
            else:
                x = r.iloc[0]
                cells.append(f"{_pct(x['share_positive'])} ({_ci(x['share_lower'], x['share_upper'])})")
        t.add_row(str(role_label), _n(first["n"]), *cells)
    console.print(t)
    if "role_comparisons" in result.tables:
        comp = result.table("role_comparisons")
        sig = comp[comp["significant"].fillna(False).astype(bool)]
        if len(sig):
            _say(
                console,
                "Roles differing from all other staff (false discovery rate controlled): "
                + "; ".join(
                    f"{r.role_label} {r.direction} on {r.variable_label} ({r.difference * 100:+.0f} points)"
                    for r in sig[sig["variable_type"] == "domain"].itertuples(index=False)
                ),
            )


def main() -> None:  # pragma: no cover - thin wrapper
    survey_app()


if __name__ == "__main__":  # pragma: no cover
    main()
