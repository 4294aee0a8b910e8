"""RED metrics are labelled with the route template, never the raw path."""

import uuid

import httpx
from prometheus_client import REGISTRY
from voiceassist_gateway.handlers.http.traffic import UNMATCHED, route_template

APPOINTMENT = "/api/v1/scheduling/appointments/{appointment_id}"
UNAVAILABLE = "503"  # no scheduling service runs behind these tests


def requests_total(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("voiceassist_http_requests_total", labels) or 0.0


def durations_count(method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    value = REGISTRY.get_sample_value("voiceassist_http_request_duration_seconds_count", labels)
    return value or 0.0


def routes_seen() -> set[str]:
    return {
        sample.labels["route"]
        for metric in REGISTRY.collect()
        if metric.name == "voiceassist_http_requests"
        for sample in metric.samples
    }


async def test_requests_are_counted_and_timed_by_route_template(client: httpx.AsyncClient) -> None:
    before = requests_total("GET", APPOINTMENT, UNAVAILABLE), durations_count("GET", APPOINTMENT)
    appointment = uuid.uuid4()
    await client.get(f"/api/v1/scheduling/appointments/{appointment}")
    await client.get(f"/api/v1/scheduling/appointments/{uuid.uuid4()}")
    assert requests_total("GET", APPOINTMENT, UNAVAILABLE) == before[0] + 2
    assert durations_count("GET", APPOINTMENT) == before[1] + 2
    assert not any(str(appointment) in route for route in routes_seen())


async def test_unknown_paths_share_one_label(client: httpx.AsyncClient) -> None:
    before = requests_total("GET", UNMATCHED, "404")
    await client.get("/wp-admin/setup.php")
    await client.get(f"/patients/{uuid.uuid4()}")
    assert requests_total("GET", UNMATCHED, "404") == before + 2
    assert not any(route.startswith(("/wp-admin", "/patients")) for route in routes_seen())


async def test_a_wrong_method_is_labelled_with_the_template_and_odd_methods_as_other(
    client: httpx.AsyncClient,
) -> None:
    before = requests_total("OTHER", "/healthz", "405")
    await client.request("BREW", "/healthz")
    assert requests_total("OTHER", "/healthz", "405") == before + 1


def test_route_template_without_an_app_is_unmatched() -> None:
    assert route_template({"type": "http", "path": "/x", "method": "GET"}) == UNMATCHED
