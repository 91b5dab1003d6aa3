"""What counts as a group code in published files: PCN ODS codes are groups; placeholders are not.

Published files put practices outside any PCN under a placeholder instead of a code: QOF and its NHS
geographies mapping use PCN code ``U`` named "Unallocated" (61 practices in 2019/20, 63 in 2021/22), the
registrations map ``U``, NHS Payments to General Practice "Unknown or no PCN". A placeholder means "no
group": the practice is in no PCN for that period, never a PCN of its own.
"""

from __future__ import annotations

import re

#: ODS code of a Primary Care Network (U12345).
PCN_CODE_RE = r"^U[0-9]{5}$"

_PCN = re.compile(PCN_CODE_RE)

#: Names that mark a placeholder whatever its code looks like (compared lower-cased, trimmed).
PLACEHOLDER_NAMES = frozenset({"unallocated", "unknown", "unknown or no pcn", "no pcn", "not applicable", "none"})


def is_pcn_code(code: object, name: object = None) -> bool:
    """Whether a published PCN column value names a real PCN (an ODS PCN code, not named as a placeholder)."""
    if not isinstance(code, str) or not _PCN.match(code.strip().upper()):
        return False
    return not (isinstance(name, str) and name.strip().lower() in PLACEHOLDER_NAMES)
