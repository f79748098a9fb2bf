"""What goes into a Lambda zip: the function's own source files and nothing else.

Tests import the handler, which writes ``__pycache__`` next to it; if those bytes reached the
archive, every test run would show up in ``pulumi preview`` as a code change. The archive is built
from an explicit, sorted list of source files, so its content depends on the source alone.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = REPO_ROOT / "lambda_src"

INCLUDED_SUFFIXES = frozenset({".py", ".json"})
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


def _excluded(relative: Path) -> bool:
    if any(part in EXCLUDED_DIRS or part.startswith(".") for part in relative.parts[:-1]):
        return True
    name = relative.name
    return (
        name.startswith(("test_", "."))
        or name.endswith("_test.py")
        or name == "conftest.py"
        or relative.suffix not in INCLUDED_SUFFIXES
    )


def function_files(source_dir: Path) -> dict[str, Path]:
    """Archive path -> file, for every file that belongs in the function's zip."""
    if not source_dir.is_dir():
        raise FileNotFoundError(f"Lambda source folder {source_dir} does not exist")
    files = {
        path.relative_to(source_dir).as_posix(): path
        for path in sorted(source_dir.rglob("*"))
        if path.is_file() and not _excluded(path.relative_to(source_dir))
    }
    if not files:
        raise FileNotFoundError(f"Lambda source folder {source_dir} holds no source files")
    return files


def source_hash(source_dir: Path) -> str:
    """A digest of the archive's names and contents (shown in the plan; changes only with the code)."""
    digest = hashlib.sha256()
    for archive_path, path in function_files(source_dir).items():
        digest.update(archive_path.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def function_archive(source_dir: Path) -> pulumi.AssetArchive:
    return pulumi.AssetArchive(
        {
            archive_path: pulumi.FileAsset(str(path))
            for archive_path, path in function_files(source_dir).items()
        }
    )
