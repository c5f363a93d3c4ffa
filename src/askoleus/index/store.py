"""Index generations on disk: manifest with checksums, atomic switch, lock, rollback, pruning."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from askoleus.errors import BuildLocked, IndexCorrupt, IndexNotFound

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
GENERATIONS = "generations"
TMP = "tmp"
LOCK = ".build.lock"
ACTIVATED = ".activated"  # marker (outside the manifest) that a generation has been current once
FORMAT_VERSION = 1
# What new_generation_id() writes, with room for ids made by hand; anything else in CURRENT is garbage.
_GENERATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MAX_POINTER_BYTES = 256

Verifier = Callable[[Path], Any]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    """fsync a file or a directory so a rename or write survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_generation_id() -> str:
    """Sortable, unique: UTC time to the microsecond plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class GenerationInfo:
    """One generation as `askoleus index status` shows it."""

    id: str
    current: bool
    created: str
    chunks: int
    articles: int
    model: str
    valid: bool
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return self.__dict__.copy()


class IndexStore:
    """The index directory: generations/<id>/, CURRENT, tmp/ and the build lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.generations = self.root / GENERATIONS
        self.tmp = self.root / TMP

    # -- reading ---------------------------------------------------------------------------
    def current_id(self) -> str | None:
        """The id CURRENT points to, or None if there is no usable pointer."""
        return self.pointer()[0]

    def pointer(self) -> tuple[str | None, str]:
        """The generation CURRENT names, or None and why it is unusable ("" when there is no CURRENT)."""
        try:
            with (self.root / CURRENT).open("rb") as f:
                raw = f.read(_MAX_POINTER_BYTES + 1)
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, f"CURRENT cannot be read ({exc.strerror or type(exc).__name__})"
        try:
            gen = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return None, "CURRENT is not text"
        if len(raw) > _MAX_POINTER_BYTES or not _GENERATION_ID.match(gen):
            return None, "CURRENT does not hold a generation id"
        if not self.is_generation(gen):
            return None, f"CURRENT names generation {gen}, which is not in {self.generations}"
        return gen, ""

    def is_generation(self, gen: str) -> bool:
        """gen is a well-formed id of a real directory inside generations/ (a symlink out is refused)."""
        if not _GENERATION_ID.match(gen):
            return False
        path = self.generations / gen
        try:
            return path.is_dir() and path.resolve().parent == self.generations.resolve()
        except OSError:
            return False

    def current_dir(self) -> Path:
        """Directory of the current generation; IndexNotFound when there is none."""
        gen = self.current_id()
        if gen is None:
            raise IndexNotFound(f"no index generation is current in {self.root}: run `askoleus build`")
        return self.generations / gen

    def ids(self) -> list[str]:
        """All complete generation ids, oldest first."""
        if not self.generations.is_dir():
            return []
        return sorted(
            p.name for p in self.generations.iterdir() if self.is_generation(p.name) and (p / MANIFEST).exists()
        )

    def status(self, verify: Verifier | None = None) -> list[GenerationInfo]:
        """Every generation with its validity, newest first; verify is what the server runs (default: checksums)."""
        check = verify or verify_generation
        current = self.current_id()
        out = []
        for gen in reversed(self.ids()):
            try:
                check(self.generations / gen)
                m = read_manifest(self.generations / gen)
                out.append(
                    GenerationInfo(
                        gen,
                        gen == current,
                        m["created"],
                        m["counts"]["chunks"],
                        m["counts"]["articles"],
                        m["model"]["name"],
                        True,
                    )
                )
            except IndexCorrupt as exc:
                out.append(GenerationInfo(gen, gen == current, "", 0, 0, "", False, exc.message))
        return out

    # -- writing ---------------------------------------------------------------------------
    def new_tmp_dir(self, gen: str) -> Path:
        """A fresh private directory to build generation gen in."""
        path = self.tmp / f"{gen}.{os.getpid()}"
        path.mkdir(parents=True)
        return path

    def commit(self, tmp_dir: Path, gen: str) -> Path:
        """fsync a finished build and move it into generations/ (not yet current)."""
        for p in tmp_dir.rglob("*"):
            if p.is_file():
                fsync_path(p)
        for d in [*[p for p in tmp_dir.rglob("*") if p.is_dir()], tmp_dir]:
            fsync_path(d)
        self.generations.mkdir(parents=True, exist_ok=True)
        final = self.generations / gen
        os.rename(tmp_dir, final)
        fsync_path(self.generations)
        return final

    def activate(self, gen: str) -> None:
        """Atomically point CURRENT at gen (after verifying it)."""
        verify_generation(self.generations / gen)
        pointer = self.root / f"{CURRENT}.{os.getpid()}.tmp"
        pointer.write_text(gen + "\n", encoding="utf-8")
        fsync_path(pointer)
        os.replace(pointer, self.root / CURRENT)
        fsync_path(self.root)
        (self.generations / gen / ACTIVATED).touch()

    def rollback(self, verify: Verifier | None = None) -> str:
        """Make the newest valid generation that was current before, and is older, current; returns its id.

        Generations a crashed build completed but never activated are not rollback targets.
        """
        check = verify or verify_generation
        current = self.current_id()
        older = [g for g in self.activated() if current is None or g < current]
        for gen in reversed(older):
            try:
                check(self.generations / gen)
            except IndexCorrupt:
                continue
            self.activate(gen)
            return gen
        raise IndexNotFound("no valid older generation to roll back to")

    def activated(self) -> list[str]:
        """Generations that have been current at some time, oldest first."""
        return [g for g in self.ids() if (self.generations / g / ACTIVATED).exists()]

    def prune(self, keep: int) -> list[str]:
        """Delete all but the newest `keep` generations, never the current one; returns removed ids."""
        current = self.current_id()
        ids = self.ids()
        doomed = [g for g in ids[: max(0, len(ids) - keep)] if g != current]
        for gen in doomed:
            shutil.rmtree(self.generations / gen, ignore_errors=True)
        return doomed

    def clean_leftovers(self) -> list[str]:
        """Remove half-written builds and pointer files that a crashed build left behind."""
        removed: list[str] = []
        if self.tmp.is_dir():
            for p in self.tmp.iterdir():
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                removed.append(p.name)
        for p in self.root.glob(f"{CURRENT}.*.tmp"):
            p.unlink(missing_ok=True)
            removed.append(p.name)
        if self.generations.is_dir():  # a dir without manifest was never a complete generation
            for p in self.generations.iterdir():
                if p.is_dir() and not (p / MANIFEST).exists() and p.name != self.current_id():
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p.name)
        return removed

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 0.0) -> Iterator[None]:
        """Hold the build lock; BuildLocked if another build holds it past wait_seconds."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                        raise BuildLocked(f"another build (pid {holder}) is running on {self.root}") from None
                    time.sleep(0.1)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock


def write_manifest(gen_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Checksum every artifact in gen_dir into the manifest and write manifest.json."""
    artifacts = {}
    for p in sorted(gen_dir.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            artifacts[p.relative_to(gen_dir).as_posix()] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    manifest = {**manifest, "format": FORMAT_VERSION, "artifacts": artifacts}
    (gen_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def read_manifest(gen_dir: Path) -> dict[str, Any]:
    """Parse manifest.json; IndexCorrupt when missing or malformed."""
    try:
        manifest = json.loads((gen_dir / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorrupt(f"generation {gen_dir.name}: manifest.json is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise IndexCorrupt(f"generation {gen_dir.name}: manifest.json is not valid JSON") from None
    required = ("format", "generation", "created", "model", "counts", "artifacts")
    if not isinstance(manifest, dict) or any(k not in manifest for k in required):
        raise IndexCorrupt(f"generation {gen_dir.name}: manifest.json lacks required fields")
    if manifest["format"] != FORMAT_VERSION:
        raise IndexCorrupt(f"generation {gen_dir.name}: unsupported manifest format {manifest['format']!r}")
    return manifest


def _artifact_path(gen_dir: Path, rel: object) -> Path:
    """gen_dir/rel, refused before anything is opened when rel is not a plain relative path inside gen_dir."""
    name = gen_dir.name
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        raise IndexCorrupt(f"generation {name}: an artifact path in the manifest is malformed")
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts or not parts:
        raise IndexCorrupt(f"generation {name}: an artifact path in the manifest leaves the generation directory")
    path = gen_dir / rel
    if not path.resolve().is_relative_to(gen_dir.resolve()):  # a symlink inside the generation pointing out
        raise IndexCorrupt(f"generation {name}: artifact {rel} leaves the generation directory")
    return path


def verify_generation(
    gen_dir: Path, model: str | None = None, dim: int | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check every artifact's size and sha256, and the model; returns the manifest or raises IndexCorrupt."""
    manifest = read_manifest(gen_dir)
    name = gen_dir.name
    try:
        if not isinstance(manifest["artifacts"], dict):
            raise TypeError
        if not manifest["artifacts"]:
            raise IndexCorrupt(f"generation {name}: manifest.json lists no artifacts")
        missing = [r for r in required if r not in manifest["artifacts"]]
        if missing:
            raise IndexCorrupt(f"generation {name}: manifest.json does not list {', '.join(missing)}")
        # the fields status() and load_generation() read must exist with the right types
        fields = (
            manifest["model"]["name"],
            manifest["model"]["dim"],
            manifest["counts"]["chunks"],
            manifest["counts"]["articles"],
        )
        if not isinstance(fields[0], str) or not all(type(v) is int for v in fields[1:]):
            raise TypeError
        paths = {rel: _artifact_path(gen_dir, rel) for rel in manifest["artifacts"]}
        for rel, meta in manifest["artifacts"].items():
            path = paths[rel]
            if not path.is_file():
                raise IndexCorrupt(f"generation {name}: artifact {rel} is missing")
            if path.stat().st_size != meta["bytes"]:
                raise IndexCorrupt(f"generation {name}: artifact {rel} has the wrong size (truncated?)")
            if sha256_file(path) != meta["sha256"]:
                raise IndexCorrupt(f"generation {name}: artifact {rel} fails its sha256 check")
        if model is not None and manifest["model"]["name"] != model:
            raise IndexCorrupt(
                f"generation {name} was built with model {manifest['model']['name']!r}, configured {model!r}"
            )
        if dim is not None and manifest["model"]["dim"] != dim:
            raise IndexCorrupt(f"generation {name} has dimension {manifest['model']['dim']}, the model {dim}")
    except (KeyError, TypeError, AttributeError):
        raise IndexCorrupt(f"generation {name}: manifest.json is malformed") from None
    return manifest
