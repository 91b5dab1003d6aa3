"""Canonical schema of the store, as ordered migrations.

Every data table carries ``ingest_id`` so that a newer version of a publication can replace the rows
of the older one exactly, and so that every value can be traced back to the file it came from.
Periods are text labels with an explicit ``period_type`` (see :mod:`gpscale.periods`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step; applied once, in order, inside a transaction."""

    version: int
    description: str
    sql: str


def _latest_view(view: str, table: str, key: str, columns: tuple[str, ...]) -> str:
    """SQL for a view keeping, per key, each column's most recent non-null value across source files."""
    picks = ",\n       ".join(
        f"arg_max({c}, coalesce(as_of, DATE '1900-01-01')) FILTER (WHERE {c} IS NOT NULL) AS {c}"
        for c in columns
    )
    return f"CREATE VIEW {view} AS\nSELECT {key},\n       {picks}\nFROM {table} GROUP BY {key};\n"


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "canonical tables",
        """
        CREATE TABLE ingest_log (
            ingest_id        INTEGER PRIMARY KEY,
            file_path        VARCHAR NOT NULL,
            file_name        VARCHAR NOT NULL,
            format           VARCHAR NOT NULL,
            variant          VARCHAR,
            publication      VARCHAR NOT NULL,   -- identity of the publication edition this file holds
            sha256           VARCHAR NOT NULL,
            size_bytes       BIGINT NOT NULL,
            rows_in          BIGINT NOT NULL,
            rows_loaded      BIGINT NOT NULL,
            rows_rejected    BIGINT NOT NULL,
            nulls_suppressed BIGINT NOT NULL,
            periods          VARCHAR[],
            status           VARCHAR NOT NULL,   -- loaded | replaced | unchanged
            message          VARCHAR,
            replaces         INTEGER,
            loaded_at        TIMESTAMP NOT NULL
        );
        CREATE TABLE rejects (
            ingest_id  INTEGER NOT NULL,
            row_number BIGINT,
            rule       VARCHAR NOT NULL,
            detail     VARCHAR NOT NULL
        );
        -- one row per practice per source file; the `practice` view keeps the latest known value
        CREATE TABLE practice_record (
            practice_code  VARCHAR NOT NULL,
            as_of          DATE,      -- the date the source describes (extract date, year end)
            name           VARCHAR,
            postcode       VARCHAR,
            open_date      DATE,
            close_date     DATE,
            status         VARCHAR,
            commissioner   VARCHAR,
            icb            VARCHAR,
            region         VARCHAR,
            setting        VARCHAR,
            contract_type  VARCHAR,
            rurality       VARCHAR,
            dispensing     BOOLEAN,
            imd_score      DOUBLE,
            ingest_id      INTEGER NOT NULL
        );
        -- time-varying practice attributes (contract type, commissioner, list size...) by period
        CREATE TABLE practice_attribute (
            practice_code VARCHAR NOT NULL,
            period        VARCHAR NOT NULL,
            period_type   VARCHAR NOT NULL,
            attribute     VARCHAR NOT NULL,
            value         VARCHAR,
            ingest_id     INTEGER NOT NULL
        );
        CREATE TABLE practice_population (
            practice_code VARCHAR NOT NULL,
            period        VARCHAR NOT NULL,
            period_type   VARCHAR NOT NULL,
            sex           VARCHAR NOT NULL,   -- male | female | all
            age_band      VARCHAR NOT NULL,   -- 0_4 ... 90_94, 95+, or all
            patients      BIGINT,
            ingest_id     INTEGER NOT NULL
        );
        CREATE TABLE measure_value (
            source               VARCHAR NOT NULL,   -- qof | gpps | payments | ...
            measure_id           VARCHAR NOT NULL,
            practice_code        VARCHAR NOT NULL,
            period               VARCHAR NOT NULL,
            period_type          VARCHAR NOT NULL,
            numerator            DOUBLE,
            denominator          DOUBLE,
            expected             DOUBLE,
            weighted_numerator   DOUBLE,
            weighted_denominator DOUBLE,
            points               DOUBLE,
            max_points           DOUBLE,
            exceptions           DOUBLE,
            value                DOUBLE,             -- the published value where one is given (e.g. %)
            ingest_id            INTEGER NOT NULL
        );
        CREATE TABLE prescribing (
            practice_code VARCHAR NOT NULL,
            period        VARCHAR NOT NULL,          -- month yyyy-mm
            bnf_code      VARCHAR NOT NULL,
            items         DOUBLE,
            quantity      DOUBLE,
            adq_usage     DOUBLE,
            nic           DOUBLE,
            actual_cost   DOUBLE,
            ingest_id     INTEGER NOT NULL
        );
        CREATE TABLE hospital_activity (
            practice_code VARCHAR NOT NULL,
            period        VARCHAR NOT NULL,
            period_type   VARCHAR NOT NULL,
            measure       VARCHAR NOT NULL,
            sex           VARCHAR NOT NULL,
            age_band      VARCHAR NOT NULL,
            events        DOUBLE,
            population    DOUBLE,
            ingest_id     INTEGER NOT NULL
        );
        CREATE TABLE prescribing_weight (
            scheme    VARCHAR NOT NULL,   -- e.g. STAR-PU 2013 antibacterial items, ADQ-STAR-PU hypnotics
            vintage   VARCHAR NOT NULL,   -- 2009 | 2013
            sex       VARCHAR NOT NULL,
            age_band  VARCHAR NOT NULL,   -- published bands, e.g. 0_4, 5_14, 75+
            weight    DOUBLE NOT NULL,
            ingest_id INTEGER NOT NULL
        );
        CREATE TABLE group_record (
            group_id    VARCHAR NOT NULL,
            as_of       DATE,
            name        VARCHAR NOT NULL,
            kind        VARCHAR NOT NULL,   -- pcn | federation | super_partnership | multi_site | network | custom
            legal_form  VARCHAR,
            founded     DATE,
            contracts   VARCHAR,
            parent      VARCHAR,
            ingest_id   INTEGER NOT NULL
        );
        -- membership spells as published by each file (ePCN core partners, a registry file...)
        CREATE TABLE membership (
            group_id      VARCHAR NOT NULL,
            practice_code VARCHAR NOT NULL,
            start_date    DATE,
            end_date      DATE,   -- null: open-ended
            ingest_id     INTEGER NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "latest-value views of practices and groups",
        _latest_view(
            "practice",
            "practice_record",
            "practice_code",
            ("name", "postcode", "open_date", "close_date", "status", "commissioner", "icb", "region",
             "setting", "contract_type", "rurality", "dispensing", "imd_score"),
        )
        + _latest_view(
            "practice_group",
            "group_record",
            "group_id",
            ("name", "kind", "legal_form", "founded", "contracts", "parent"),
        ),
    ),
    Migration(
        3,
        "reference tables: QOF indicator mappings and other reference values (areas, PCNs, indicators)",
        """
        -- QOF indicator definitions per year (INDICATOR_MAPPINGS / MAPPING_INDICATORS files)
        CREATE TABLE qof_indicator (
            period             VARCHAR NOT NULL,   -- FY label
            period_type        VARCHAR NOT NULL,
            indicator_code     VARCHAR NOT NULL,
            description        VARCHAR,
            point_value        DOUBLE,
            group_code         VARCHAR,
            group_description  VARCHAR,
            domain_code        VARCHAR,
            domain_description VARCHAR,
            patient_list_type  VARCHAR,
            ingest_id          INTEGER NOT NULL
        );
        -- reference facts about entities other than practices (LSOAs, PCNs, QOF indicators...), long form
        CREATE TABLE reference_value (
            entity_type VARCHAR NOT NULL,   -- lsoa | pcn | qof_indicator | ...
            entity_code VARCHAR NOT NULL,
            period      VARCHAR,            -- FY or month label where the fact is dated
            period_type VARCHAR,
            attribute   VARCHAR NOT NULL,
            value       VARCHAR,
            ingest_id   INTEGER NOT NULL
        );
        """,
    ),
    Migration(
        4,
        "edition fingerprints beside the ingest log",
        """
        -- one row per loaded file: what its rows amount to (JSON: rows, practices, periods, totals of the main
        -- count columns) and, where it replaced an earlier edition, that edition's fingerprint (its rows are
        -- gone; this stays) and whether the replacement was forced (gpscale ingest --replace) despite the
        -- comparison. A table of its own so that ingest_log keeps its columns.
        CREATE TABLE ingest_edition (
            ingest_id            INTEGER PRIMARY KEY,
            fingerprint          VARCHAR NOT NULL,
            replaced_ingest_id   INTEGER,
            replaced_fingerprint VARCHAR,
            forced               BOOLEAN NOT NULL
        );
        """,
    ),
    Migration(
        5,
        "prescribing summed at ingest: which BNF prefixes and definitions each summed month serves (issue 17)",
        """
        -- one row per month an ingest summed to BNF prefixes (gpscale.sources.rx_codes); months loaded row by
        -- row (gpscale ingest --keep-rows) have none. A definition needing a prefix outside code_prefixes
        -- cannot be computed from these months and is refused with a message to re-ingest.
        CREATE TABLE prescribing_aggregate (
            period           VARCHAR NOT NULL,
            code_prefixes    VARCHAR[] NOT NULL,
            definitions      VARCHAR[] NOT NULL,   -- id@vN of the definitions the prefixes were gathered from
            code_fingerprint VARCHAR NOT NULL,
            rows_summed      BIGINT NOT NULL,      -- file rows the month's sums stand for
            ingest_id        INTEGER NOT NULL
        );
        """,
    ),
)

#: Tables that hold rows loaded from files (each has an ``ingest_id`` column).
DATA_TABLES: tuple[str, ...] = (
    "practice_record",
    "practice_attribute",
    "practice_population",
    "measure_value",
    "prescribing",
    "hospital_activity",
    "prescribing_weight",
    "group_record",
    "membership",
    "qof_indicator",
    "reference_value",
    "prescribing_aggregate",
)
