import uuid

import pytest
from voiceassist_gateway.domain.request_ids import choose_request_id


@pytest.mark.parametrize(
    "incoming", ["3f2c9d1e-7a4b-4c1d-9e2f-0a1b2c3d4e5f", "web-7f3a", "lb:0001.02_x", "a" * 128]
)
def test_a_sane_caller_id_is_kept(incoming: str) -> None:
    assert choose_request_id(incoming) == (incoming, False)


@pytest.mark.parametrize(
    "incoming",
    [None, "", "a" * 129, "has space", "line\nbreak", "-leading-dash", "<script>", "ünïcode"],
)
def test_anything_else_is_replaced_by_a_fresh_uuid(incoming: str | None) -> None:
    request_id, generated = choose_request_id(incoming)
    assert generated
    assert str(uuid.UUID(request_id)) == request_id
    assert choose_request_id(incoming)[0] != request_id
