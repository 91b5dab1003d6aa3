"""Reports and the content behind the dashboard, built from the results tables.

* :mod:`~gpscale.report.data`: the results folder (and the store's names and membership) loaded once, with
  disclosure control applied (:class:`~gpscale.report.data.ResultsData`);
* :mod:`~gpscale.report.sections`: every section and page as data frames, SVG charts and reading notes;
* :mod:`~gpscale.report.svg`: fast, accessible SVG charts (trend, funnel, spine, XmR, scatter);
* :mod:`~gpscale.report.board`: a group's board pack and the national report (self-contained HTML, PDF);
* :mod:`~gpscale.report.overview`: the demo's overview report (Altair charts rendered with vl-convert);
* :mod:`~gpscale.report.cli`: ``gpscale report``.
"""
