"""The closed vocabularies of scale-up events: event kinds, the reasons an event study cannot say."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """What happened to a practice: it joined a group of a kind, or absorbed a practice that closed."""

    JOINED_PCN = "joined_pcn"
    JOINED_FEDERATION = "joined_federation"
    JOINED_SUPER_PARTNERSHIP = "joined_super_partnership"
    JOINED_MULTI_SITE = "joined_multi_site"
    JOINED_NETWORK = "joined_network"
    JOINED_OTHER_GROUP = "joined_other_group"
    MERGER = "merger"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    EventKind.JOINED_PCN: "joining a primary care network",
    EventKind.JOINED_FEDERATION: "joining a federation",
    EventKind.JOINED_SUPER_PARTNERSHIP: "merging into a super-partnership",
    EventKind.JOINED_MULTI_SITE: "being taken over by a multi-site provider",
    EventKind.JOINED_NETWORK: "joining a network",
    EventKind.JOINED_OTHER_GROUP: "joining another kind of group",
    EventKind.MERGER: "absorbing a practice that closed into it (merger)",
}

#: Group kind (registry / ePCN) -> the event of joining it.
JOIN_EVENT: dict[str, EventKind] = {
    "pcn": EventKind.JOINED_PCN,
    "federation": EventKind.JOINED_FEDERATION,
    "super_partnership": EventKind.JOINED_SUPER_PARTNERSHIP,
    "multi_site": EventKind.JOINED_MULTI_SITE,
    "network": EventKind.JOINED_NETWORK,
}


class EventSource(StrEnum):
    """Where an event was found."""

    MEMBERSHIP = "membership spells"
    SUCCESSION = "ODS successor organisations"
    CLOSE_DATE = "ODS successor organisations (date from the practice's close date)"


class StudyStatus(StrEnum):
    """Whether an event study could be estimated, and if not why (each has a plain-words conclusion)."""

    ESTIMATED = "estimated"
    NO_EVENTS = "no events"
    TOO_FEW_EVENTS = "too few events"
    SIMULTANEOUS = "simultaneous events: no comparators"
    NO_COMPARATORS = "no comparators"
    NO_COMPARABLE_YEARS = "no comparable years"


class Verdict(StrEnum):
    """The plain-words answer of one event study."""

    IMPROVED = "improved"
    WORSENED = "worsened"
    HIGHER = "higher"
    LOWER = "lower"
    NO_CHANGE = "no change detected"
    CANNOT_TELL = "cannot tell"
