"""gpscale: evaluate large-scale general practice in England on NHS quality indicators.

Data flow one way: sources -> store -> indicators -> groups -> stats/evaluate -> outputs.
"""

__version__ = "0.1.0"
