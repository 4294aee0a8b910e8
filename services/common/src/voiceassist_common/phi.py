"""Finds and masks protected health information (PHI) in text and structured log fields.

Logs leave the clinic's control (shipped to Loki, attached to tickets, read by vendors), so
nothing that identifies a patient may reach them. Services pass patient data only as
structured fields; the rules here are the safety net that also scrubs free text, because a
developer will one day write ``log.info(f"call from {caller}")``.

Two layers:
- Field names: a value under a key that names PHI (``patient_name``, ``phone``, ``dob``,
  ``transcript``…) is replaced whole, whatever it looks like.
- Patterns: e-mail addresses, phone numbers, dates, medical record numbers, postal
  addresses and personal names (after an honorific or a cue such as "my name is", and any
  run of two or more capitalised words) are masked inside free text.

Pattern matching over-redacts on purpose: a log line that says ``[NAME]`` where it could have
said "Bad Gateway" costs a developer a minute; a leaked name costs a patient their privacy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class SafeText(str):
    """A string a developer has checked holds no PHI; the redactor leaves it as it is."""

    __slots__ = ()


def safe(value: str) -> SafeText:
    """Mark ``value`` as known to hold no PHI (for example a fixed prompt or an id)."""
    return SafeText(value)


# Keys whose whole value is PHI. Matched on the normalised key (lower case, '-' -> '_').
_PHI_KEYS: dict[str, str] = {
    **dict.fromkeys(
        [
            "name",
            "full_name",
            "first_name",
            "last_name",
            "given_name",
            "family_name",
            "patient_name",
            "caller_name",
            "display_name",
            "username",
            "patient",
        ],
        "NAME",
    ),
    **dict.fromkeys(["phone", "phone_number", "mobile", "telephone", "tel", "fax"], "PHONE"),
    **dict.fromkeys(["email", "e_mail", "email_address", "mail"], "EMAIL"),
    **dict.fromkeys(["dob", "date_of_birth", "birth_date", "birthdate", "birthday"], "DATE"),
    **dict.fromkeys(
        [
            "address",
            "postal_address",
            "street",
            "street_address",
            "postcode",
            "postal_code",
            "zip",
            "zip_code",
            "city",
            "home_address",
        ],
        "ADDRESS",
    ),
    **dict.fromkeys(
        [
            "mrn",
            "medical_record_number",
            "patient_id_external",
            "nhs_number",
            "ssn",
            "social_security_number",
            "insurance_number",
            "insurance_id",
        ],
        "MRN",
    ),
    **dict.fromkeys(
        [
            "transcript",
            "text",
            "utterance",
            "free_text",
            "message_text",
            "notes",
            "note",
            "reason",
            "symptoms",
            "complaint",
            "answer",
            "question_text",
            "query",
            "prompt",
        ],
        "TEXT",
    ),
}

# Key fragments that mark PHI even inside longer keys (``caller_phone``, ``patient_email``).
_PHI_KEY_FRAGMENTS: tuple[tuple[str, str], ...] = (
    ("phone", "PHONE"),
    ("email", "EMAIL"),
    ("birth", "DATE"),
    ("transcript", "TEXT"),
    ("address", "ADDRESS"),
    ("mrn", "MRN"),
)

# Keys that end in a PHI-looking word but are our own vocabulary, never a person's data.
_SAFE_KEYS = frozenset(
    {
        "service_name",
        "logger_name",
        "method_name",
        "rpc_name",
        "span_name",
        "metric_name",
        "host_name",
        "hostname",
        "stream_name",
        "subject_name",
        "bucket_name",
        "consumer_name",
        "queue_name",
        "schema_name",
        "table_name",
        "file_name",
        "filename",
        "event_name",
        "task_name",
        "voice_name",
        "model_name",
        "reason_code",
        "grpc_address",
        "bind_address",
        "listen_address",
        "remote_address_family",
    }
)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[ûu]t|septembre|octobre"
    r"|novembre|d[ée]cembre)"
)
_APOSTROPHES = "'\u2019"
_CAP_WORD = rf"[A-Z][a-zà-ÿ{_APOSTROPHES}]+(?:-[A-Z][a-zà-ÿ{_APOSTROPHES}]+)?"

# Capitalised words that often sit next to each other in technical log text. Runs made only
# of these are not names; anything else capitalised in a run of two or more is masked.
_NOT_NAMES = frozenset(
    """Accepted Allowed Application Bad Conflict Content Created Entity Error Expectation
    Failed Forbidden Found Gateway Gone Implemented Internal Large Length Method Moved
    Not Permanently Precondition Request Requests Required Server Service Temporary Timeout
    Too Many Unauthorized Unavailable Unprocessable Unsupported Media Payload Type Partial
    No Started Stopped Starting Stopping Waiting Shutting Finished Uvicorn Context Will
    Running Health Check Serving Postgre PostgreSQL Jet Stream JetStream Prometheus
    Voice Assist VoiceAssist Keycloak Qdrant Whisper Piper Open Telemetry OpenTelemetry
    Triage Scheduling Admin Auth Gateway Medical Knowledge Base Speech Text To The A An
    Traceback File Value Key Type Runtime Assertion Attribute Index Lookup Name Import
    Module Connection Timeout Cancelled Exception Stop Iteration Async Generator""".split()  # noqa: SIM905
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[EMAIL]"),
    # Dates first so "1984-03-07" is a date, not a phone number.
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "[DATE]",
    ),
    (re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"), "[DATE]"),
    (
        re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th|er)?\s+{_MONTHS}\.?,?\s+\d{{4}}\b", re.IGNORECASE),
        "[DATE]",
    ),
    (
        re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b", re.IGNORECASE),
        "[DATE]",
    ),
    (
        re.compile(
            r"\b(?:MRN|medical record(?: number)?|record (?:no|number)|patient (?:id|number)"
            r"|NHS (?:no|number)|dossier)\s*[:#]?\s*[A-Z0-9][A-Z0-9-]{3,}\b",
            re.IGNORECASE,
        ),
        "[MRN]",
    ),
    (
        re.compile(
            r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd"
            r"|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent|Square|Sq)\b\.?"
        ),
        "[ADDRESS]",
    ),
    (
        re.compile(
            r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|chemin"
            r"|impasse|all[ée]e|quai|route)\s+[^,;\n\d]{2,40}",
            re.IGNORECASE,
        ),
        "[ADDRESS]",
    ),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"), "[ADDRESS]"),
    (
        re.compile(
            r"(?<![\w.:/])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){2,4}"
            r"(?![\w.:/])"
        ),
        "[PHONE]",
    ),
    (re.compile(r"(?<![\w.])\+\d{8,15}\b"), "[PHONE]"),
    (re.compile(r"\(\d{2,4}\)\s?\d{2,4}[\s.-]\d{2,4}\b"), "[PHONE]"),
    (re.compile(r"(?<![\w.:/-])\d{3}-\d{4}\b(?![.-]\d)"), "[PHONE]"),
    (
        re.compile(
            rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Mme|Mlle|Monsieur|Madame)\.?\s+{_CAP_WORD}"
            rf"(?:\s+{_CAP_WORD})*"
        ),
        "[NAME]",
    ),
    (
        re.compile(
            rf"(?i:\b(?:my name is|name is|named|called|patient|je m'appelle|je suis|nom)"
            rf"\s*:?\s+){_CAP_WORD}(?:\s+{_CAP_WORD})*"
        ),
        "[NAME]",
    ),
)

_CAPITALISED_RUN = re.compile(rf"\b{_CAP_WORD}(?:\s+{_CAP_WORD})+\b")


def _mask_name_runs(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        words = match.group(0).split()
        if all(word in _NOT_NAMES for word in words):
            return match.group(0)
        return "[NAME]"

    return _CAPITALISED_RUN.sub(replace, text)


def redact_text(text: str) -> str:
    """Mask PHI patterns inside free text; text marked with `safe` is returned unchanged."""
    if isinstance(text, SafeText):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _mask_name_runs(text)


def phi_kind_of_key(key: str) -> str | None:
    """Return the PHI kind a field name stands for, or None for an ordinary field."""
    normalised = key.lower().replace("-", "_")
    if normalised in _SAFE_KEYS:
        return None
    if normalised in _PHI_KEYS:
        return _PHI_KEYS[normalised]
    for fragment, kind in _PHI_KEY_FRAGMENTS:
        if fragment in normalised:
            return kind
    if normalised.endswith("_name"):
        return "NAME"
    return None


def redact_value(key: str, value: Any) -> Any:
    """Redact one structured field: by its key first, then by the patterns in its text."""
    if isinstance(value, SafeText):
        return str(value)
    kind = phi_kind_of_key(key)
    if kind is not None and value is not None and value != "":
        return f"[REDACTED:{kind}]"
    return redact_structure(value)


def redact_structure(value: Any) -> Any:
    """Redact nested containers the way a log line's fields are redacted."""
    if isinstance(value, SafeText):
        return str(value)
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_structure(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))
