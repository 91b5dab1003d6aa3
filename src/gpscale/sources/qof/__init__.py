"""Quality and Outcomes Framework publications, one module per layout.

* :mod:`~gpscale.sources.qof.achievement` — the practice overall achievement table (:class:`QofAchievement`);
* :mod:`~gpscale.sources.qof.prevalence` — raw ``PREVALENCE`` files and ``prevalencebyprac``
  (:class:`QofPrevalence`, streamed);
* :mod:`~gpscale.sources.qof.domains` — the long domain layout (:class:`QofDomains`) and the older
  per-clinical-area practice workbooks (:class:`QofDomainWorkbook`);
* :mod:`~gpscale.sources.qof.raw_achievement` — raw ``ACHIEVEMENT`` files (:class:`QofRawAchievement`);
* :mod:`~gpscale.sources.qof.reference` — the supporting reference CSVs (organisation reference, NHS
  geographies, indicator mappings, PCA/exclusion mappings, validation outcomes).

None of the QOF raw files states its year inside the file: the financial year comes from the file name
(``PREVALENCE_1920.csv``, ``QOF_2019-20.csv``) or ``gpscale ingest --period``, and is checked against the
maximum points stated in the header where there is one.
"""

from gpscale.sources.qof.achievement import ACHIEVEMENT_COLS, QofAchievement, header_max_points
from gpscale.sources.qof.common import list_type_band, qof_year
from gpscale.sources.qof.domains import QofDomains, QofDomainWorkbook, domain_id
from gpscale.sources.qof.prevalence import PREVALENCE_COLS, QofPrevalence
from gpscale.sources.qof.raw_achievement import QofRawAchievement
from gpscale.sources.qof.reference import (
    QofGeographies,
    QofIndicatorMappings,
    QofOrganisationReference,
    QofPcaMappings,
    QofValidationOutcomes,
)

__all__ = [
    "ACHIEVEMENT_COLS",
    "PREVALENCE_COLS",
    "QofAchievement",
    "QofDomainWorkbook",
    "QofDomains",
    "QofGeographies",
    "QofIndicatorMappings",
    "QofOrganisationReference",
    "QofPcaMappings",
    "QofPrevalence",
    "QofRawAchievement",
    "QofValidationOutcomes",
    "domain_id",
    "header_max_points",
    "list_type_band",
    "qof_year",
]
