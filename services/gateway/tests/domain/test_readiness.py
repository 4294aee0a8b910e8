from voiceassist_gateway.domain.readiness import GATEWAY, HealthStatus, ServiceHealth, assess


def test_ready_only_when_every_downstream_service_is_serving() -> None:
    serving = [ServiceHealth(name, HealthStatus.SERVING) for name in ("auth", "triage")]
    readiness = assess(serving)
    assert readiness.ready
    assert [service.service for service in readiness.services] == [GATEWAY, "auth", "triage"]


def test_one_sick_service_holds_readiness_back_and_is_named() -> None:
    readiness = assess(
        [
            ServiceHealth("auth", HealthStatus.SERVING),
            ServiceHealth("triage", HealthStatus.TIMEOUT, reason="no answer within 1 s"),
        ]
    )
    assert not readiness.ready
    assert readiness.not_serving == ("triage",)


def test_no_status_but_serving_counts_as_ready() -> None:
    for status in HealthStatus:
        ready = assess([ServiceHealth("stt", status)]).ready
        assert ready is (status is HealthStatus.SERVING)
