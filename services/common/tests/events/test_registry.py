"""Every event has one model, one subject and one stream, so consumers can parse by subject."""

from voiceassist_common.events import EVENT_TYPES, PAYLOAD_TYPES, payload_type
from voiceassist_common.messaging.streams import STREAMS, stream_for


def test_every_payload_is_registered_under_its_own_subject() -> None:
    assert len(EVENT_TYPES) == len(PAYLOAD_TYPES)
    for model in PAYLOAD_TYPES:
        assert payload_type(model.subject) is model


def test_every_subject_is_stored_in_the_stream_of_its_family() -> None:
    for subject in EVENT_TYPES:
        family = subject.split(".")[0]
        assert stream_for(subject).name == family.upper()


def test_each_family_has_events() -> None:
    families = {subject.split(".")[0] for subject in EVENT_TYPES}
    assert families == {spec.name.lower() for spec in STREAMS}


def test_every_event_names_its_publisher_and_meaning() -> None:
    for model in PAYLOAD_TYPES:
        assert model.publisher
        assert model.__doc__
        for name, field in model.model_fields.items():
            assert field.description, f"{model.subject}.{name} has no description"
