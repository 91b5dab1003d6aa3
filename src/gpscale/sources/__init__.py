"""Source loaders: one module per publication (see catalogue.FORMATS)."""
