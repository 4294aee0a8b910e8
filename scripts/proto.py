"""Generate the Python gRPC contracts from proto/, or check that the committed ones are current.

One script owns the protoc invocation so that `make proto` (which writes the code) and
`make check` (which CI runs) can never disagree about what "current" means. Code is generated into
a scratch directory first; `generate` then replaces services/common/generated/voiceassist wholesale,
so files of a deleted .proto cannot linger, and `check` compares the scratch tree with the committed
one byte for byte. The output depends only on the .proto files and the pinned grpcio-tools and
mypy-protobuf versions, so it is the same on every machine.

Usage (from anywhere): .venv/bin/python scripts/proto.py generate | check
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]  # grpcio-tools ships no type hints

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "proto"
GENERATED_ROOT = REPO_ROOT / "services" / "common" / "generated"
# The top-level package every .proto lives under (proto/voiceassist/<service>/v1/*.proto).
PACKAGE = "voiceassist"
# protoc plugins from mypy-protobuf, installed beside the interpreter running this script.
MYPY_PLUGINS = ("protoc-gen-mypy", "protoc-gen-mypy_grpc")
TOP_DOCSTRING = "Generated gRPC contracts (by `make proto`); never edit by hand."
# A top-level `service` declaration; only files with one get gRPC stubs (no empty *_pb2_grpc.py).
SERVICE_DECLARATION = re.compile(r"^service\s+\w+", re.MULTILINE)
# Bytecode caches appear whenever the generated code is imported; they are not part of it.
IGNORED_NAMES = frozenset({"__pycache__"})


class ProtoError(Exception):
    """The code could not be generated (protoc failed or a tool is missing)."""


def proto_files() -> list[str]:
    """Return every .proto under proto/, relative to it, in a stable order."""
    files = sorted(path.relative_to(PROTO_ROOT).as_posix() for path in PROTO_ROOT.rglob("*.proto"))
    if not files:
        raise ProtoError(f"no .proto files under {PROTO_ROOT}")
    return files


def plugin_path(name: str) -> Path:
    """Find a protoc plugin in the virtual environment of the running interpreter."""
    # Not resolved: sys.executable is a symlink in .venv/bin, which is where the plugins are.
    candidate = Path(sys.executable).parent / name
    found = candidate if candidate.is_file() else None
    if found is None:
        on_path = shutil.which(name)
        found = Path(on_path) if on_path else None
    if found is None:
        raise ProtoError(f"{name} not found; install mypy-protobuf (`make up` or `uv sync`)")
    return found


def declares_service(proto: str) -> bool:
    """Tell whether a .proto (relative to proto/) declares a gRPC service."""
    return SERVICE_DECLARATION.search((PROTO_ROOT / proto).read_text(encoding="utf-8")) is not None


def protoc_run(out_dir: Path, outputs: Sequence[str], files: Sequence[str]) -> None:
    """Run protoc once over files with the given output flags (e.g. "python", "mypy_grpc")."""
    well_known_types = importlib.resources.files("grpc_tools") / "_proto"
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={well_known_types}",
        *(f"--plugin={name}={plugin_path(name)}" for name in MYPY_PLUGINS),
        # mypy-protobuf otherwise prints a line per file it writes.
        "--mypy_opt=quiet",
        "--mypy_grpc_opt=quiet",
        *(f"--{output}_out={out_dir}" for output in outputs),
        *files,
    ]
    if protoc.main(args) != 0:
        raise ProtoError("protoc failed (see the messages above)")


def run_protoc(out_dir: Path) -> None:
    """Compile every .proto into out_dir: messages, gRPC stubs and their type stubs."""
    files = proto_files()
    protoc_run(out_dir, ("python", "mypy"), files)
    protoc_run(out_dir, ("grpc_python", "mypy_grpc"), [f for f in files if declares_service(f)])


def add_package_markers(out_dir: Path) -> None:
    """Make every generated directory an importable, typed package."""
    top = out_dir / PACKAGE
    (top / "py.typed").write_text("")
    packages = sorted(path for path in top.rglob("*") if path.is_dir())
    (top / "__init__.py").write_text(f'"""{TOP_DOCSTRING}"""\n')
    for package in packages:
        source = package.relative_to(out_dir).as_posix()
        docstring = f"Generated from proto/{source} by `make proto`; never edit by hand."
        (package / "__init__.py").write_text(f'"""{docstring}"""\n')


def generate_into(out_dir: Path) -> Path:
    """Generate the complete package into out_dir and return its top directory."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_protoc(out_dir)
    add_package_markers(out_dir)
    return out_dir / PACKAGE


def tree_files(top: Path) -> dict[str, Path]:
    """Map each file under top (relative POSIX path) to its path, skipping bytecode caches."""
    files: dict[str, Path] = {}
    for path in top.rglob("*"):
        relative = path.relative_to(top)
        if IGNORED_NAMES.intersection(relative.parts) or not path.is_file():
            continue
        files[relative.as_posix()] = path
    return files


def stale_files(fresh: Path, committed: Path) -> list[str]:
    """Describe every difference between freshly generated and committed code."""
    fresh_files = tree_files(fresh)
    committed_files = tree_files(committed) if committed.is_dir() else {}
    problems = []
    for name in sorted(fresh_files.keys() | committed_files.keys()):
        if name not in committed_files:
            problems.append(f"{name}: missing")
        elif name not in fresh_files:
            problems.append(f"{name}: not generated from proto/ (stale)")
        elif not filecmp.cmp(fresh_files[name], committed_files[name], shallow=False):
            problems.append(f"{name}: out of date")
    return problems


def generate() -> int:
    """Regenerate services/common/generated/voiceassist from proto/."""
    target = GENERATED_ROOT / PACKAGE
    with tempfile.TemporaryDirectory(prefix="voiceassist-proto-") as scratch:
        fresh = generate_into(Path(scratch))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(fresh, target)
    count = len(tree_files(target))
    print(f"generated {count} files from {len(proto_files())} .proto files into {target}")
    return 0


def check() -> int:
    """Fail when the committed generated code differs from what proto/ produces."""
    committed = GENERATED_ROOT / PACKAGE
    with tempfile.TemporaryDirectory(prefix="voiceassist-proto-") as scratch:
        problems = stale_files(generate_into(Path(scratch)), committed)
    if problems:
        where = committed.relative_to(REPO_ROOT).as_posix()
        print(f"generated gRPC code in {where} is stale; run `make proto`:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print("generated gRPC code is current")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "command",
        choices=("generate", "check"),
        help="generate: rewrite the generated code; check: exit 1 if it is stale",
    )
    command = parser.parse_args(argv).command
    try:
        return generate() if command == "generate" else check()
    except ProtoError as error:
        print(f"proto: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
