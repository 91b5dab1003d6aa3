"""Reports and the content behind the dashboard, rendered from a disclosed results bundle (nothing computed here).

* :mod:`~gpscale.report.data`: the bundle as the pages see it (:class:`~gpscale.report.data.ResultsData`);
* :mod:`~gpscale.report.sections`: every section and page as data frames, SVG charts and reading notes;
* :mod:`~gpscale.report.html`: escaped HTML tables shared by the reports and the dashboard;
* :mod:`~gpscale.report.board`: a group's board pack and the national report (self-contained HTML, PDF);
* :mod:`~gpscale.report.cli`: ``gpscale report``.

Charts are :mod:`gpscale.charts`.
"""
