from pathlib import Path

import pytest
from voiceassist_localstack.config import load_local_settings


@pytest.fixture(autouse=True)
def _no_local_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOCAL_DATA_DIR", "LOCAL_PG_PORT", "GATEWAY_HTTP_PORT", "LOCAL_NATS_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_avoid_the_standard_ports(tmp_path: Path) -> None:
    settings = load_local_settings(tmp_path)
    assert settings.local_pg_port == 55432
    assert settings.local_nats_port == 54222
    assert settings.local_nats_monitor_port == 58222
    assert settings.gateway_http_port == 8080
    assert settings.data_dir(tmp_path) == tmp_path / ".data"


def test_dot_env_at_the_root_moves_ports_and_data(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LOCAL_PG_PORT=56000\nGATEWAY_HTTP_PORT=8181\nLOCAL_DATA_DIR=/srv/va\nOIDC_ISSUER=x\n"
    )
    settings = load_local_settings(tmp_path)
    assert settings.local_pg_port == 56000
    assert settings.gateway_http_port == 8181
    assert settings.data_dir(tmp_path) == Path("/srv/va")


def test_the_environment_wins_over_dot_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("LOCAL_PG_PORT=56000\n")
    monkeypatch.setenv("LOCAL_PG_PORT", "57000")
    assert load_local_settings(tmp_path).local_pg_port == 57000


def test_a_port_out_of_range_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_PG_PORT", "70000")
    with pytest.raises(ValueError, match="local_pg_port"):
        load_local_settings(tmp_path)
