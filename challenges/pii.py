"""PII detectors: a registry of patterns (with checksums where they exist), the column scan,
and the replacements the `mask` transform uses on free text.

Patterns run vectorized in Arrow (RE2) over each column's distinct values; only the few
candidate matches are checked in Python (Luhn, mod-97, SSN ranges, IP parsing).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Unambiguous common first names (no months, verbs or common nouns such as May, Will, Bill).
_NAME_TEXT = (
    "James John Robert Michael David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew William Anthony Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George "
    "Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen "
    "Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Jack Dennis "
    "Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Noah Ethan "
    "Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl Harold Dylan "
    "Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert "
    "Willie Elijah Wayne Randy Vincent Liam Oliver Lucas Mason Mary Patricia Jennifer "
    "Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret "
    "Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca "
    "Sharon Laura Cynthia Dorothy Amy Kathleen Angela Shirley Emma Brenda Pamela Nicole "
    "Anna Samantha Katherine Christine Debra Rachel Carolyn Janet Maria Olivia Heather "
    "Helen Catherine Diane Julie Victoria Joyce Lauren Kelly Christina Ruth Joan Virginia "
    "Judith Evelyn Hannah Andrea Megan Cheryl Jacqueline Madison Teresa Abigail Sophia "
    "Martha Sara Gloria Janice Kathryn Ann Isabella Judy Charlotte Julia Grace Amber "
    "Alice Jean Denise Marilyn Danielle Beverly Natalie Diana Brittany Theresa Kayla "
    "Alexis Lori Ava Mia Amelia Harper Ella Chloe Zoe Leah Priya Wei Mohammed Fatima "
    "Ahmed Hiroshi Yuki Carlos Sofia Lucia Mateo Luca Giulia Hans Ingrid Lars Sven Olga "
    "Ivan Dmitri Raj Anil Sunita Kwame Aisha"
)
FIRST_NAMES: tuple[str, ...] = tuple(_NAME_TEXT.split())

_NAMES = "|".join(FIRST_NAMES)
_SURNAME = r"[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?"


@dataclass(frozen=True)
class Detector:
    """One kind of personal data: a pattern, an optional checksum, and what to suggest."""

    kind: str
    pattern: str
    placeholder: str
    validate: Callable[[str], bool] | None = None
    whole_value_rule: str = '"drop"'

    @property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


def luhn_ok(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19 or digits[0] not in (2, 3, 4, 5, 6):
        return False
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def ssn_ok(text: str) -> bool:
    area, group, serial = text.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nino_ok(text: str) -> bool:
    prefix = text[:2].upper()
    return prefix not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ")


def iban_ok(text: str) -> bool:
    compact = re.sub(r"\s", "", text).upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def ip_ok(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def phone_ok(text: str) -> bool:
    return 9 <= sum(c.isdigit() for c in text) <= 15


DETECTORS: dict[str, Detector] = {
    d.kind: d
    for d in (
        Detector(
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "[EMAIL]",
        ),
        Detector("card_number", r"\b(?:\d[ -]?){12,18}\d\b", "[CARD]", luhn_ok),
        Detector(
            "bank_account",
            r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
            "[IBAN]",
            iban_ok,
        ),
        Detector("national_id", r"\b\d{3}-\d{2}-\d{4}\b", "[SSN]", ssn_ok),
        Detector(
            "national_id_uk",
            r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
            "[NINO]",
            nino_ok,
        ),
        Detector(
            "ip_address",
            r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"
            r"|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b"
            r"|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4})(?::[0-9A-Fa-f]{1,4})*\b",
            "[IP]",
            ip_ok,
        ),
        Detector(
            "phone_number",
            r"\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}"
            r"|\(\d{3}\) ?\d{3}[ .-]\d{4}\b"
            r"|\b\d{3}[.-]\d{3}[.-]\d{4}\b"
            r"|\b0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}\b",
            "[PHONE]",
            phone_ok,
        ),
        Detector(
            "street_address",
            r"\b\d{1,5} (?:[A-Z][A-Za-z]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd"
            r"|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Circle|Highway|Hwy|Parkway)\b\.?",
            "[ADDRESS]",
        ),
        Detector(
            "date_of_birth",
            r"(?i)\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?)\s*[:=-]?\s*"
            r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}",
            "[DOB]",
            whole_value_rule='{ truncate = "year" }',
        ),
        Detector(
            "person_name",
            rf"\b(?:Mr|Mrs|Ms|Miss|Dr)\.? {_SURNAME}|\b(?:{_NAMES}) {_SURNAME}\b",
            "[NAME]",
        ),
    )
}
_FULL_NAME = re.compile(r"^[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,2}$")
_BIRTH_NAME = re.compile(r"(?i)(^|_|\b)(dob|birth|born|bday)")


@dataclass(frozen=True)
class Finding:
    """A personal-data hit in one column: what kind, a redacted example, a suggested rule."""

    column: str
    kind: str
    example: str
    suggestion: str


def redact(text: str) -> str:
    """Keep the shape, hide the content: 'jane@x.com' -> 'j***@*.*om'."""
    keep_tail = 2 if len(text) > 6 else 0
    out = []
    for index, ch in enumerate(text):
        if index == 0 or index >= len(text) - keep_tail or not ch.isalnum():
            out.append(ch)
        else:
            out.append("*")
    return "".join(out)


def scan_column(name: str, column: pa.ChunkedArray, max_checked: int = 1000) -> Finding | None:
    """The first kind of personal data found in a column, or None."""
    kind = column.type
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return _scan_dates(name, column)
    if pa.types.is_integer(kind):
        return _scan_integers(name, column)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    values = pc.drop_null(pc.unique(column))
    if len(values) == 0:
        return None
    for detector in DETECTORS.values():
        matched = pc.filter(values, pc.match_substring_regex(values, detector.pattern))
        if len(matched) == 0:
            continue
        compiled = detector.compiled
        for text in matched.slice(0, max_checked).to_pylist():
            for match in compiled.finditer(text):
                found = match.group(0)
                if detector.validate is None or detector.validate(found):
                    whole = found.strip() == text.strip()
                    rule = detector.whole_value_rule if whole else '"mask"'
                    return Finding(name, detector.kind, redact(found), f"{name} = {rule}")
    return _scan_full_names(name, values) or _scan_date_strings(name, values)


def _scan_full_names(name: str, values: pa.Array) -> Finding | None:
    """A column whose values mostly look like 'Firstname Lastname', many of them known."""
    sample = values.slice(0, 5000).to_pylist()
    shaped = [v for v in sample if _FULL_NAME.match(v)]
    if len(shaped) < max(3, 0.6 * len(sample)):
        return None
    known = set(FIRST_NAMES)
    named = [v for v in shaped if v.split(" ", 1)[0] in known]
    if len(named) < 0.2 * len(shaped):
        return None
    return Finding(name, "person_name", redact(named[0]), f'{name} = "drop"')


def _scan_date_strings(name: str, values: pa.Array) -> Finding | None:
    if not _BIRTH_NAME.search(name):
        return None
    try:
        dates = pc.cast(values.slice(0, 5000), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return _scan_dates(name, pa.chunked_array([dates]))


def _scan_dates(name: str, column: pa.ChunkedArray) -> Finding | None:
    """Birth dates: by column name, or by a spread of decades well in the past."""
    valid = pc.drop_null(pc.cast(column, pa.date32())).to_numpy(zero_copy_only=False)
    if len(valid) == 0:
        return None
    days = valid.astype("datetime64[D]").astype(np.int64)
    example = redact(str(valid[0]))
    rule = f'{name} = {{ truncate = "year" }}'
    if _BIRTH_NAME.search(name):
        return Finding(name, "date_of_birth", example, rule)
    if len(days) < 20:
        return None
    cutoff = (date.today() - date(1970, 1, 1)).days - 15 * 365
    low, high = np.percentile(days, [5, 95])
    old_enough = np.mean((days < cutoff) & (days > -70 * 365)) >= 0.9
    if old_enough and high - low >= 20 * 365:
        return Finding(name, "date_of_birth", example, rule)
    return None


def _scan_integers(name: str, column: pa.ChunkedArray) -> Finding | None:
    """Card numbers stored as integers: long values that pass Luhn far above chance (10%)."""
    values = pc.drop_null(column).to_numpy()
    if len(values) == 0:
        return None
    candidates = values[(values >= 10**12) & (values < 10**19 - 1)].astype(np.int64)
    if len(candidates) < 0.5 * len(values):
        return None
    sample = candidates[:5000]
    ok = np.mean([luhn_ok(str(v)) for v in sample])
    if ok >= 0.9:
        return Finding(name, "card_number", redact(str(sample[0])), f'{name} = "drop"')
    return None


def mask_text(column: pa.ChunkedArray, kinds: tuple[str, ...]) -> pa.ChunkedArray:
    """Replace every match of the given detectors with its placeholder (vectorized, RE2)."""
    if not kinds:
        return column
    # One pass finds the rows with anything to mask; only those are looked at again.
    flat = column.combine_chunks()
    hit = pc.fill_null(pc.match_substring_regex(flat, _any_of(kinds)), False)
    masked = _mask_rows(pc.filter(flat, hit), kinds)
    return pa.chunked_array([pc.replace_with_mask(flat, hit, masked)])


def _mask_rows(values: pa.Array, kinds: tuple[str, ...]) -> pa.Array:
    """Mask `values`, each of which matches one of `kinds` or more, kind by kind in order.

    The kinds are halved, and each half looks only at the rows its parent group matched: a
    kind absent from the text costs a share of one pass, not a pass of its own.
    """
    if len(kinds) == 1:
        detector = DETECTORS[kinds[0]]
        return pc.replace_substring_regex(values, detector.pattern, detector.placeholder)
    half = len(kinds) // 2
    for group in (kinds[:half], kinds[half:]):
        found = pc.match_substring_regex(values, _any_of(group))
        if pc.any(found).as_py():
            values = pc.replace_with_mask(
                values, found, _mask_rows(pc.filter(values, found), group)
            )
    return values


def _any_of(kinds: tuple[str, ...]) -> str:
    return "|".join(f"(?:{DETECTORS[kind].pattern})" for kind in kinds)


MASK_KINDS: tuple[str, ...] = tuple(DETECTORS)
