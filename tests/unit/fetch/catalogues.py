"""A small catalogue whose URLs point at the local test server, and files in published layouts."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

from gpscale.fetch.catalogue import Catalogue
from tests.unit.fetch.server import ScriptedServer

#: A QOF raw PREVALENCE file in the published layout (2019/20 column names), 3 practices x 2 registers.
PREVALENCE = (
    b"PRACTICE_CODE,GROUP_CODE,REGISTER,PATIENT_LIST_TYPE,PATIENT_LIST_SIZE\r\n"
    b"A81001,AF,105,TOTAL,4111\r\nA81001,AST,348,TOTAL,4111\r\n"
    b"A81002,AF,310,TOTAL,19189\r\nA81002,AST,1101,TOTAL,19189\r\n"
    b"A81004,AF,201,TOTAL,11014\r\nA81004,AST,760,TOTAL,11014\r\n"
)
PAYMENTS = b"Practice Code,Practice Name\r\nA81001,THE DENSHAM SURGERY\r\n" * 50


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def local_catalogue(server: ScriptedServer, **overrides: Any) -> Catalogue:
    base = server.url("")
    zip_rules = {"required": ["prevalence*.csv"], "allowed": ["*.csv", "*.pdf"], "unexpected": "refuse"}
    publications: list[dict[str, Any]] = [
        {
            "id": "qof", "title": "QOF raw data", "publisher": "test", "licence": "OGL-3.0",
            "landing_page": f"{base}/qof", "access": "direct", "file_kind": "zip", "typical_size": "small",
            "formats": ["qof_prevalence"], "members": zip_rules, "ingest_members": ["PREVALENCE*.csv"],
            "members_need_edition_in_name": True, "edition_pattern": r"^(?P<start>\d{4})-(?P<end>\d{2})$",
            "editions": [
                {"id": "2019-20", "url": f"{base}/QOF_1920.zip", "members": {
                    "PREVALENCE_1920.csv": {"size": len(PREVALENCE), "sha256": sha(PREVALENCE),
                                            "source": "repository-copy"}}},
                {"id": "2016-17", "url": f"{base}/qof-1617-csv.zip"},
                {"id": "2012-13", "file_name": "qof-1213.zip"},
            ],
        },
        {
            "id": "payments", "title": "Payments", "publisher": "test", "licence": "OGL-3.0",
            "landing_page": f"{base}/payments", "access": "direct", "file_kind": "csv", "typical_size": "3 MB",
            "formats": ["nhs_payments"], "edition_pattern": r"^(?P<start>\d{4})-(?P<end>\d{2})$",
            "landing_template": f"{base}/payments/england-{{start}}-{{end}}",
            "editions": [
                {"id": "2023-24", "url": f"{base}/files/7A/nhspaymentsgp-23-24-prac-csv.csv",
                 "checksum": {"size": len(PAYMENTS), "sha256": sha(PAYMENTS), "source": "repository-copy"}},
                {"id": "2017-18", "file_name": "nhspaymentsgp-17-18-csv.csv"},
            ],
        },
        {
            "id": "epd", "title": "EPD", "publisher": "test", "licence": "OGL-3.0", "landing_page": f"{base}/epd",
            "access": "ckan", "file_kind": "csv", "typical_size": "GB", "formats": ["prescribing"],
            "edition_pattern": r"^(?P<year>\d{4})(?P<month>\d{2})$", "edition_min": "201401",
            "ckan": {"api": f"{base}/api/3/action", "package": "english-prescribing-data-epd",
                     "resource": "EPD_{year}{month}"},
        },
        {
            "id": "quin", "title": "Registrations", "publisher": "test", "licence": "OGL-3.0",
            "landing_page": f"{base}/reg", "access": "discover", "file_kind": "zip", "typical_size": "2 MB",
            "formats": ["gp_reg_patients"], "edition_pattern": r"^(?P<year>\d{4})-(?P<month>\d{2})$",
            "landing_template": f"{base}/reg/{{month_name}}-{{year}}",
            "link_pattern": r"gp-reg-pat-prac-quin-age\.(zip|csv)$",
            "members": {"required": ["gp-reg-pat-prac-quin-age*.csv"], "allowed": ["*.pdf"]},
        },
        {
            "id": "snapshot", "title": "ODS practices", "publisher": "test", "licence": "OGL-3.0",
            "landing_page": f"{base}/ods", "access": "direct", "file_kind": "zip", "typical_size": "3 MB",
            "formats": ["ods_epraccur"], "current_url": f"{base}/ods/current/epraccur.zip",
            "members": {"required": ["epraccur.csv"], "allowed": ["*.pdf"], "unexpected": "report"},
            "manual_steps": "Export the DSE report by hand, then run `gpscale fetch add FILE --entry snapshot`.",
        },
        {
            "id": "fingertips", "title": "Fingertips", "publisher": "test", "licence": "OGL-3.0",
            "landing_page": f"{base}/ft", "access": "fingertips", "file_kind": "csv", "typical_size": "1 MB",
            "formats": ["fingertips"], "edition_pattern": r"^(?P<indicator>\d+)-(?P<area>practice|pcn|sub-icb|icb)$",
            "fingertips": {"api": f"{base}/api"},
        },
    ]
    for p in publications:
        p.update(overrides.get(p["id"], {}))
    return Catalogue.model_validate({"publications": publications})
