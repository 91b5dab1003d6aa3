"""The gpscale dashboard: server-rendered pages, CSV downloads and a read-only JSON API (``gpscale serve``)."""
