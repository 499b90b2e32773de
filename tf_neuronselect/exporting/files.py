"""Sizes and sha256 digests of exported files and directories."""

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path):
    """Hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_record(path):
    """``{"bytes": size, "sha256": hex}`` of one file."""
    path = Path(path)
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def directory_record(path):
    """Size, per-file records and one combined digest of every file under ``path``.

    The combined sha256 is taken over the sorted lines ``"<relative posix path>  <sha256>\\n"``
    (the ``sha256sum`` format), so it can be recomputed from the per-file digests.
    """
    root = Path(path)
    files = {
        p.relative_to(root).as_posix(): file_record(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    return {
        "bytes": sum(r["bytes"] for r in files.values()),
        "sha256": combined_sha256(files),
        "files": files,
    }


def combined_sha256(files):
    """Digest of a ``{relative path: {"sha256": ...}}`` mapping, independent of dict order."""
    lines = "".join(f"{name}  {files[name]['sha256']}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def record(path):
    """``file_record`` for a file, ``directory_record`` for a directory."""
    return directory_record(path) if Path(path).is_dir() else file_record(path)
