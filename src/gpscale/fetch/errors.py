"""The one error type of :mod:`gpscale.fetch`.

Every failure the user can meet (a refused download, a web page where a data file was expected, a zip
holding something it should not, a checksum the lock file forbids, a cache file that changed) is raised as a
:class:`FetchError` whose message is complete on its own: the command line prints it as one ``error:``
line and exits 2, never with a traceback.
"""

from __future__ import annotations


class FetchError(Exception):
    """A fetch, add, verify or cache operation that cannot go on; the message says why and what to do."""
