"""Kubernetes resource quantities ("512Mi", "1.5G", "100m") as exact numbers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIX: dict[str, Decimal] = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$"
)


#: No quantity the API server accepts is longer; a longer string (a hand-edited annotation,
#: a hostile snapshot) is not one.
MAX_QUANTITY_CHARS = 64


def parse_quantity(value: object) -> Decimal | None:
    """Return the quantity's value in base units, or None when it is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str) or len(value) > MAX_QUANTITY_CHARS:
        return None  # (the pattern backtracks: bounded input keeps it cheap)
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        return Decimal(number) * _SUFFIX[suffix or ""]
    except (InvalidOperation, KeyError):
        return None


def format_bytes(value: Decimal) -> str:
    """Render a byte count the way people write memory quantities (binary suffixes)."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIX[suffix]
        if value >= unit and value % unit == 0:
            return f"{int(value / unit)}{suffix}"
    if value == value.to_integral_value():
        return str(int(value))
    return str(value)
