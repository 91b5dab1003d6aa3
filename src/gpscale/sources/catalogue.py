"""The list of every loader, in the order detection asks them (most specific first).

The loaders for the layouts synthetic England writes come first (they are also the most used); after
them the other published layouts, then reference files, then the most generic shapes last.
"""

from __future__ import annotations

from gpscale.sources.base import SourceFormat
from gpscale.sources.deprivation import Fingertips, ImdLsoaWorkbook, PcnImd, PracticeImd
from gpscale.sources.geography import LsoaLookup
from gpscale.sources.gpps import GPPS
from gpscale.sources.hospital import HospitalActivity
from gpscale.sources.ods import EPCN, Epraccur
from gpscale.sources.ods_successor import OdsSuccessor
from gpscale.sources.payments import Payments
from gpscale.sources.prescribing import PrescribingMonthly, PrescribingUnits
from gpscale.sources.qof import (
    QofAchievement,
    QofDomains,
    QofDomainWorkbook,
    QofGeographies,
    QofIndicatorMappings,
    QofOrganisationReference,
    QofPcaMappings,
    QofPrevalence,
    QofRawAchievement,
    QofValidationOutcomes,
)
from gpscale.sources.registrations import GpRegMap, GpRegPatients, PatientListSize2011, QofListByAgeGroup
from gpscale.sources.registry_file import GroupRegistryFile

FORMATS: tuple[SourceFormat, ...] = (
    # layouts written by synthetic England (docs/formats/synthetic-layouts.md)
    Epraccur(),
    EPCN(),
    OdsSuccessor(),
    QofAchievement(),
    QofDomains(),
    QofPrevalence(),
    GPPS(),
    PrescribingMonthly(),
    GpRegPatients(),
    Payments(),
    HospitalActivity(),
    GroupRegistryFile(),  # gpscale's own registry layout (src/gpscale/sources/registry_file.py)
    # other published layouts
    QofRawAchievement(),
    QofDomainWorkbook(),
    QofGeographies(),
    QofOrganisationReference(),
    QofIndicatorMappings(),
    QofPcaMappings(),
    QofValidationOutcomes(),
    GpRegMap(),
    PatientListSize2011(),
    QofListByAgeGroup(),
    PrescribingUnits(),
    Fingertips(),
    PracticeImd(),
    PcnImd(),
    ImdLsoaWorkbook(),
    LsoaLookup(),
)
