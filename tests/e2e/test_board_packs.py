"""The demo's board packs as a board reads them: summary first, at most 25 PDF pages, inert hostile names.

A BIG group too: half the demo's practices in one group given by a registry file, each in two membership
spells (so well over the 20 rows an appendix table keeps), evaluated with the demo's indicators: its pack
must keep to 25 pages as well, summary first, members summarised and every appendix table short.
"""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import pytest
import yaml

from gpscale.bundle import Bundle, open_bundle
from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.evaluate.run import evaluate
from gpscale.pipeline import DemoResult, run_demo
from gpscale.report.board import write_group_report
from gpscale.report.pack_tables import APPENDIX_ROWS
from gpscale.store import open_store
from gpscale.synth.world import NAMED_GROUPS

pytestmark = pytest.mark.slow
MAX_PAGES = 25


def _pdf_ready() -> str | None:
    try:
        import pypdfium2  # noqa: F401
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"needs weasyprint and pypdfium2 (pip install 'gpscale[pdf]' pypdfium2): {exc}"
    return None


@functools.cache
def _demo() -> DemoResult:
    return run_demo(Path(tempfile.mkdtemp(prefix="gpscale-packs-")), seed=11, practices=60)


@functools.cache
def _bundle() -> Bundle:
    return open_bundle(_demo().out / "results")


BIG = "BIG-ALL"


@functools.cache
def _big_bundle() -> Bundle:
    """The demo's store evaluated with one more group: every other practice, each in two spells (left, rejoined)."""
    demo = _demo()
    codes = sorted(open_bundle(demo.out / "results").table("practices")["practice_code"])[::2]  # half: quick
    spells = [s for c in codes for s in ({"practice": c, "start": "2009-04-01", "end": "2015-03-31"},
                                         {"practice": c, "start": "2017-04-01", "end": None})]
    registry = demo.out / "big.yaml"
    registry.write_text(yaml.safe_dump({"gpscale_group_registry": 1, "groups": [{
        "id": BIG, "name": "Every Practice Federation", "kind": "federation", "founded": "2009-04-01",
        "members": spells}]}))
    with open_store(demo.store, read_only=True) as st:
        ev = evaluate(st, groups_file=registry, analyses=["scorecard", "trends", "variation"], calibration=None,
                      n_boot=99)
    write_bundle(make_bundle(ev), demo.out / "big-results", meta=bundle_meta(ev))
    return open_bundle(demo.out / "big-results")


def _check_pack(pdf: Path, group_id: str) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    assert 2 <= len(doc) <= MAX_PAGES, f"{group_id}: {len(doc)} pages"
    first = doc[0].get_textpage().get_text_range()
    assert "Summary" in first and "Better than England" in first and "Worsening" in first
    assert "Scorecard against England" not in first or first.index("Summary") < first.index("Scorecard")


@pytest.mark.skipif(_pdf_ready() is not None, reason=str(_pdf_ready()))
def test_a_big_groups_pack_keeps_to_25_pages_with_short_appendix_tables(tmp_path):
    bundle = _big_bundle()
    spells = len(bundle.table("spells", "group_id = ?", [BIG]))
    assert spells > 2 * APPENDIX_ROWS  # the fixture is big enough for the limits to matter
    html, pdf = write_group_report(bundle, BIG, tmp_path / "big.html", pdf=True)
    _check_pack(pdf, BIG)
    appendix = html.read_text().split('<section id="appendix"')[1].split("</section>")[0]
    bodies = re.findall(r"<tbody>(.*?)</tbody>", appendix, flags=re.S)
    assert len(bodies) >= 2 and all(b.count("<tr") <= APPENDIX_ROWS for b in bodies)
    assert "spells by commissioner" in appendix and f"{spells:,} membership spells" in appendix


@pytest.mark.skipif(_pdf_ready() is not None, reason=str(_pdf_ready()))
@pytest.mark.parametrize("group_id", [g.group_id for g in NAMED_GROUPS])
def test_each_demo_board_pack_is_at_most_25_pages_with_the_summary_first(group_id, tmp_path):
    pdf = write_group_report(_bundle(), group_id, tmp_path / f"{group_id}.html", pdf=True)[1]
    _check_pack(pdf, group_id)
