"""The canonical store: an embedded DuckDB database holding the tables of DESIGN.md §3."""

from gpscale.store.db import Store, open_store

__all__ = ["Store", "open_store"]
