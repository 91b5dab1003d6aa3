"""`gpscale fetch`: get the published NHS files a real evaluation needs into a local, checked cache.

``catalogue`` (the publications, as validated data in ``catalogue.yaml``), ``cache`` (content-addressed
files and the manifest that works as a lock file), ``download`` (resumable, retried, checked HTTP),
``archive`` (zip checks and extraction), ``ckan`` and ``fingertips`` (look-ups on the NHSBSA portal and
the Fingertips API), ``identify`` (which publication a file is), ``fetcher`` (the operations) and ``cli``.
See docs/real-data.md and docs/adr/0006-fetch-downloads.md.
"""
