"""docs/security.md shows the gateway's permission table exactly as the code enforces it."""

from __future__ import annotations

from pathlib import Path

from voiceassist_gateway.domain.access import POLICY, Audience, Permission

SECURITY_DOC = Path(__file__).resolve().parents[4] / "docs" / "security.md"


def permission_table() -> str:
    """Render POLICY as the Markdown table docs/security.md carries."""
    columns = list(Audience)
    lines = [
        "| permission | " + " | ".join(column.value for column in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for permission in Permission:
        marks = ["yes" if permission in POLICY[column] else "—" for column in columns]
        lines.append(f"| `{permission.value}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def test_the_security_doc_shows_the_enforced_permission_table() -> None:
    assert permission_table() in SECURITY_DOC.read_text(encoding="utf-8"), (
        "docs/security.md is out of date; paste this table:\n" + permission_table()
    )
