"""The demo's board packs as a board reads them: summary first, at most 25 PDF pages, inert hostile names."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from gpscale.bundle import Bundle, open_bundle
from gpscale.pipeline import DemoResult, run_demo
from gpscale.report.board import write_group_report
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


@pytest.mark.skipif(_pdf_ready() is not None, reason=str(_pdf_ready()))
@pytest.mark.parametrize("group_id", [g.group_id for g in NAMED_GROUPS])
def test_each_demo_board_pack_is_at_most_25_pages_with_the_summary_first(group_id, tmp_path):
    import pypdfium2 as pdfium

    pdf = write_group_report(_bundle(), group_id, tmp_path / f"{group_id}.html", pdf=True)[1]
    doc = pdfium.PdfDocument(str(pdf))
    assert 2 <= len(doc) <= MAX_PAGES, f"{group_id}: {len(doc)} pages"
    first = doc[0].get_textpage().get_text_range()
    assert "Summary" in first and "Better than England" in first and "Worsening" in first
    assert "Scorecard against England" not in first or first.index("Summary") < first.index("Scorecard")
