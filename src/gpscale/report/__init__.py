"""Static reports: self-contained HTML (charts as inline SVG), built from results tables."""
