"""docs/events.md is generated from the models, and a stale copy fails the build."""

from pathlib import Path

import pytest
from voiceassist_common.events import PAYLOAD_TYPES
from voiceassist_common.events.catalogue import BEGIN, END, main, render_catalogue, splice

EVENTS_MD = Path(__file__).resolve().parents[4] / "docs" / "events.md"


def test_docs_events_md_matches_the_code() -> None:
    document = EVENTS_MD.read_text()
    assert splice(document) == document, (
        "docs/events.md is stale: run "
        ".venv/bin/python -m voiceassist_common.events.catalogue --write docs/events.md"
    )


def test_the_catalogue_lists_every_subject_and_field() -> None:
    catalogue = render_catalogue()
    for model in PAYLOAD_TYPES:
        assert f"### `{model.subject}`" in catalogue
        for name in model.model_fields:
            assert f"| `{name}` |" in catalogue


def test_splicing_keeps_the_hand_written_text(tmp_path: Path) -> None:
    document = tmp_path / "events.md"
    document.write_text(f"# Events\n\nprose\n\n{BEGIN}\nold table\n{END}\n\nmore prose\n")

    assert main([str(document), "--check"]) == 1
    assert main([str(document), "--write"]) == 0
    assert main([str(document), "--check"]) == 0

    text = document.read_text()
    assert text.startswith("# Events\n\nprose\n\n")
    assert text.endswith("\nmore prose\n")
    assert "old table" not in text


def test_a_document_without_markers_is_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        splice("# Events\n")
