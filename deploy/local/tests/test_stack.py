import socket
from pathlib import Path

import pytest
from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.ports import free_port, free_port_block
from voiceassist_localstack.stack import LocalStack, StackError, demo_account_lines


def _settings(data_dir: Path) -> LocalSettings:
    return LocalSettings(
        local_data_dir=data_dir,
        local_pg_port=free_port(),
        local_nats_port=free_port(),
        local_nats_monitor_port=free_port(),
        gateway_http_port=free_port(),
        local_grpc_port_base=free_port_block(8),
        local_metrics_port_base=free_port_block(9),
    )


def test_up_names_a_port_taken_by_another_program_before_starting_anything(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "data")
    lines: list[str] = []
    stack = LocalStack(settings, tmp_path, report=lines.append)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.gateway_http_port))
        squatter.listen()
        with pytest.raises(StackError, match=f"gateway HTTP port {settings.gateway_http_port}"):
            stack.up()
    assert not stack.postgres.is_running()
    assert not (tmp_path / "data" / "postgres" / "PG_VERSION").exists()


def test_down_with_nothing_running_leaves_nothing(tmp_path: Path) -> None:
    stack = LocalStack(_settings(tmp_path / "data"), tmp_path, report=lambda _: None)
    assert stack.down() == []
    assert all(state.pid is None for state in stack.states())


def test_demo_totp_secrets_are_printed_once_only(tmp_path: Path) -> None:
    accounts = tmp_path / "demo-accounts.txt"
    accounts.write_text(
        "patient    p@demo.example  password: Demo-1\n"
        "clinician  c@demo.example  password: Demo-2  totp secret: ABCDEFGHIJKLMNOP\n"
    )

    first = "\n".join(demo_account_lines(accounts, "http://127.0.0.1:8080"))
    again = "\n".join(demo_account_lines(accounts, "http://127.0.0.1:8080"))

    assert "ABCDEFGHIJKLMNOP" in first
    assert "ABCDEFGHIJKLMNOP" not in again
    assert "totp secret: (shown at first start)" in again
    assert "password: Demo-2" in again
