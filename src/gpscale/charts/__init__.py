"""Charts for every output (reports, dashboard, surveys): one SVG module and one palette."""
