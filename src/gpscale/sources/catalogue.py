"""The list of every loader, in the order detection asks them (most specific first).

The loaders for the layouts synthetic England writes come first (they are also the most used).
"""

from __future__ import annotations

from gpscale.groups.registry_file import GroupRegistryFile
from gpscale.sources.base import SourceFormat
from gpscale.sources.gpps import GPPS
from gpscale.sources.hospital import HospitalActivity
from gpscale.sources.ods import EPCN, Epraccur
from gpscale.sources.payments import Payments
from gpscale.sources.prescribing import PrescribingMonthly, PrescribingUnits
from gpscale.sources.qof import QofAchievement, QofPrevalence
from gpscale.sources.qof_domains import QofDomains
from gpscale.sources.registrations import GpRegMap, GpRegPatients, PatientListSize2011, QofListByAgeGroup

FORMATS: tuple[SourceFormat, ...] = (
    # layouts written by synthetic England
    Epraccur(),
    EPCN(),
    QofAchievement(),
    QofPrevalence(),
    GPPS(),
    PrescribingMonthly(),
    GpRegPatients(),
    Payments(),
    HospitalActivity(),
    QofDomains(),
    GroupRegistryFile(),
    # other published layouts
    GpRegMap(),
    PatientListSize2011(),
    QofListByAgeGroup(),
    PrescribingUnits(),
)
