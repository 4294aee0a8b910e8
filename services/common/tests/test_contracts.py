"""The gRPC contracts in proto/ follow the house conventions and the committed code matches them.

Services build on these guarantees: one `<Name>Service` per service package (the generic
UNIMPLEMENTED handler is built from it), `FooRequest`/`FooResponse` per RPC, `_UNSPECIFIED` enum
zeros, a comment on every element, and generated code that is never stale.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FileDescriptor
from voiceassist.common.v1 import language_pb2
from voiceassist.triage.v1 import triage_pb2, triage_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = REPO_ROOT / "proto"
PROTO_SCRIPT = REPO_ROOT / "scripts" / "proto.py"

# Every service with an internal API: proto package folder -> the one service it must declare.
# The gateway is the public edge and has none.
SERVICES = {
    "auth": "AuthService",
    "voice_proxy": "VoiceProxyService",
    "stt": "SpeechToTextService",
    "tts": "TextToSpeechService",
    "medical_kb": "MedicalKnowledgeService",
    "triage": "TriageService",
    "scheduling": "SchedulingService",
    "admin": "AdminService",
}

# FileDescriptorProto / DescriptorProto / ... field numbers, as used in SourceCodeInfo paths.
MESSAGE_TYPE, ENUM_TYPE, SERVICE = 4, 5, 6
FIELD, NESTED_TYPE, NESTED_ENUM, ONEOF_DECL = 2, 3, 4, 8
ENUM_VALUE, METHOD = 2, 2


def proto_files() -> list[str]:
    return sorted(path.relative_to(PROTO_ROOT).as_posix() for path in PROTO_ROOT.rglob("*.proto"))


def pb2_module(proto: str) -> ModuleType:
    return importlib.import_module(proto.removesuffix(".proto").replace("/", ".") + "_pb2")


def file_descriptor(proto: str) -> FileDescriptor:
    descriptor: FileDescriptor = pb2_module(proto).DESCRIPTOR
    return descriptor


def upper_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def all_messages(messages: list[Descriptor]) -> Iterator[Descriptor]:
    for message in messages:
        yield message
        yield from all_messages(list(message.nested_types))


def all_enums(proto: str) -> Iterator[EnumDescriptor]:
    descriptor = file_descriptor(proto)
    yield from descriptor.enum_types_by_name.values()
    for message in all_messages(list(descriptor.message_types_by_name.values())):
        yield from message.enum_types


def test_every_service_with_an_internal_api_has_a_proto_package() -> None:
    packages = {proto.split("/")[1] for proto in proto_files()}

    assert packages == {*SERVICES, "common"}


@pytest.mark.parametrize("proto", proto_files())
def test_package_matches_its_folder(proto: str) -> None:
    folder = proto.rsplit("/", 1)[0]

    assert file_descriptor(proto).package == folder.replace("/", ".")
    assert re.fullmatch(r"voiceassist\.[a-z_]+\.v[0-9]+", file_descriptor(proto).package)


@pytest.mark.parametrize(("folder", "service_name"), SERVICES.items())
def test_service_package_declares_exactly_its_one_service(folder: str, service_name: str) -> None:
    pb2 = importlib.import_module(f"voiceassist.{folder}.v1.{folder}_pb2")
    pb2_grpc = importlib.import_module(f"voiceassist.{folder}.v1.{folder}_pb2_grpc")

    services = list(pb2.DESCRIPTOR.services_by_name.values())

    assert [service.full_name for service in services] == [
        f"voiceassist.{folder}.v1.{service_name}"
    ]
    assert services[0].methods, "a service without RPCs is not a contract"
    assert hasattr(pb2_grpc, f"{service_name}Stub")
    assert hasattr(pb2_grpc, f"{service_name}Servicer")
    assert hasattr(pb2_grpc, f"add_{service_name}Servicer_to_server")


@pytest.mark.parametrize("proto", [p for p in proto_files() if p.startswith("voiceassist/common/")])
def test_shared_types_declare_no_service(proto: str) -> None:
    assert not file_descriptor(proto).services_by_name


@pytest.mark.parametrize("folder", SERVICES)
def test_every_rpc_has_its_own_request_and_response(folder: str) -> None:
    descriptor = file_descriptor(f"voiceassist/{folder}/v1/{folder}.proto")
    (service,) = descriptor.services_by_name.values()

    for method in service.methods:
        assert method.input_type.full_name == f"{descriptor.package}.{method.name}Request"
        assert method.output_type.full_name == f"{descriptor.package}.{method.name}Response"


@pytest.mark.parametrize("proto", proto_files())
def test_enums_start_at_unspecified_and_prefix_their_values(proto: str) -> None:
    for enum in all_enums(proto):
        prefix = upper_snake(enum.name)

        assert enum.values[0].number == 0
        assert enum.values[0].name == f"{prefix}_UNSPECIFIED", enum.full_name
        assert all(value.name.startswith(f"{prefix}_") for value in enum.values), enum.full_name


@pytest.mark.parametrize(
    ("rpc", "response"),
    [
        ("Parse", triage_pb2.ParseResponse),
        ("Diagnose", triage_pb2.DiagnoseResponse),
        ("Triage", triage_pb2.TriageResponse),
        ("Explain", triage_pb2.ExplainResponse),
    ],
)
def test_clinical_triage_answers_carry_knowledge_version_and_disclaimer(
    rpc: str, response: type[Any]
) -> None:
    fields = set(response.DESCRIPTOR.fields_by_name)

    assert {"knowledge_version", "disclaimer"} <= fields, rpc


def documented_paths(proto: str) -> set[tuple[int, ...]]:
    """Compile one .proto with source info and return the paths of elements with a comment."""
    well_known_types = importlib.resources.files("grpc_tools") / "_proto"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--proto_path={well_known_types}",
            "--include_source_info",
            "--descriptor_set_out=/dev/stdout",
            proto,
        ],
        capture_output=True,
        check=True,
    )
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(result.stdout)
    (compiled,) = descriptor_set.file
    return {
        tuple(location.path)
        for location in compiled.source_code_info.location
        if location.leading_comments.strip()
    }


def message_paths(
    message: descriptor_pb2.DescriptorProto, path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], str]]:
    yield path, message.name
    for index, field in enumerate(message.field):
        yield (*path, FIELD, index), f"{message.name}.{field.name}"
    for index, oneof in enumerate(message.oneof_decl):
        if not oneof.name.startswith("_"):  # synthetic oneof of a proto3 `optional` field
            yield (*path, ONEOF_DECL, index), f"{message.name}.{oneof.name}"
    for index, nested in enumerate(message.nested_type):
        yield from message_paths(nested, (*path, NESTED_TYPE, index))
    for index, enum in enumerate(message.enum_type):
        yield from enum_paths(enum, (*path, NESTED_ENUM, index))


def enum_paths(
    enum: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], str]]:
    yield path, enum.name
    for index, value in enumerate(enum.value):
        yield (*path, ENUM_VALUE, index), value.name


def element_paths(proto: str) -> Iterator[tuple[tuple[int, ...], str]]:
    compiled = descriptor_pb2.FileDescriptorProto()
    file_descriptor(proto).CopyToProto(compiled)
    for index, message in enumerate(compiled.message_type):
        yield from message_paths(message, (MESSAGE_TYPE, index))
    for index, enum in enumerate(compiled.enum_type):
        yield from enum_paths(enum, (ENUM_TYPE, index))
    for index, service in enumerate(compiled.service):
        yield (SERVICE, index), service.name
        for method_index, method in enumerate(service.method):
            yield (SERVICE, index, METHOD, method_index), f"{service.name}.{method.name}"


@pytest.mark.parametrize("proto", proto_files())
def test_every_element_is_documented(proto: str) -> None:
    documented = documented_paths(proto)

    undocumented = [name for path, name in element_paths(proto) if path not in documented]

    assert undocumented == []


def load_proto_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_script", PROTO_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generation_is_deterministic(tmp_path: Path) -> None:
    script = load_proto_script()

    first = script.generate_into(tmp_path / "first")
    second = script.generate_into(tmp_path / "second")

    assert script.stale_files(first, second) == []


def test_staleness_check_names_changed_missing_and_leftover_files(tmp_path: Path) -> None:
    script = load_proto_script()
    fresh = script.generate_into(tmp_path / "fresh")
    committed = tmp_path / "committed"
    shutil.copytree(fresh, committed)
    (committed / "triage" / "v1" / "triage_pb2.py").write_text("# edited by hand\n")
    (committed / "stt" / "v1" / "stt_pb2.pyi").unlink()
    (committed / "retired" / "v1").mkdir(parents=True)
    (committed / "retired" / "v1" / "retired_pb2.py").write_text("")

    problems = script.stale_files(fresh, committed)

    assert problems == [
        "retired/v1/retired_pb2.py: not generated from proto/ (stale)",
        "stt/v1/stt_pb2.pyi: missing",
        "triage/v1/triage_pb2.py: out of date",
    ]


def test_committed_generated_code_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(PROTO_SCRIPT), "check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


class EchoingTriage(triage_pb2_grpc.TriageServiceServicer):
    """Answers Parse with what it was sent, to see a request and its shared types cross the wire."""

    async def Parse(  # noqa: N802  # gRPC method names are PascalCase
        self,
        request: triage_pb2.ParseRequest,
        context: grpc.aio.ServicerContext[triage_pb2.ParseRequest, triage_pb2.ParseResponse],
    ) -> triage_pb2.ParseResponse:
        evidence = triage_pb2.Evidence(evidence_id=request.answering_evidence_id, present=False)
        return triage_pb2.ParseResponse(
            evidence=[triage_pb2.ParsedEvidence(evidence=evidence, negated=True)],
            language=request.language,
            knowledge_version="test",
        )


@pytest.fixture
async def triage_channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server()
    # The stubs mark every RPC abstract so real services handle each; this one needs only Parse.
    servicer = EchoingTriage()  # type: ignore[abstract]
    triage_pb2_grpc.add_TriageServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(grace=None)


async def test_generated_stubs_call_over_loopback(triage_channel: grpc.aio.Channel) -> None:
    stub = triage_pb2_grpc.TriageServiceStub(triage_channel)

    response = await stub.Parse(
        triage_pb2.ParseRequest(
            text="pas de fièvre",
            language=language_pb2.LANGUAGE_FRENCH,
            answering_evidence_id="E_91",
        )
    )

    assert response.language == language_pb2.LANGUAGE_FRENCH
    assert response.evidence[0].evidence.evidence_id == "E_91"
    assert response.evidence[0].evidence.WhichOneof("value") == "present"
    assert response.evidence[0].evidence.present is False


async def test_rpcs_the_servicer_does_not_implement_answer_unimplemented(
    triage_channel: grpc.aio.Channel,
) -> None:
    stub = triage_pb2_grpc.TriageServiceStub(triage_channel)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Diagnose(triage_pb2.DiagnoseRequest())

    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
