"""All-or-nothing directory writes: build next to the target, then rename into place.

Renames inside one parent directory are atomic on POSIX, so a reader sees either the previous
artifacts or the complete new set, never a half-written directory.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

OWNER = "export"


@contextlib.contextmanager
def atomic_directory(directory, overwrite=False):
    """Yields an empty staging directory that replaces ``directory`` when the block succeeds.

    On any exception the staging directory is removed and ``directory`` is left untouched.
    Raises ``FileExistsError`` if ``directory`` exists and ``overwrite`` is False, and an
    ``OSError`` naming the path when its parent cannot be written.
    """
    target = Path(os.fspath(directory)).absolute()
    check_target(target, overwrite)
    staging = make_staging_dir(target)
    try:
        yield staging
        replace_directory(staging, target)
    finally:
        # After a successful rename the staging path no longer exists; this only cleans failures.
        shutil.rmtree(staging, ignore_errors=True)


def check_target(target, overwrite):
    """Raises if ``target`` may not be (re)written."""
    if target.exists() and not target.is_dir():
        raise FileExistsError(
            f"{OWNER}: expected `directory` to be a directory path. Received: "
            f"directory='{target}', which is an existing file. Choose another path or "
            "remove that file."
        )
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{OWNER}: expected `directory` to be a path that does not exist yet. Received: "
            f"directory='{target}', which already exists. Pass overwrite=True to replace it, "
            "or choose another directory."
        )


def make_staging_dir(target):
    """Creates ``.{name}.tmp-XXXX`` next to ``target`` (same filesystem, so renames are atomic)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as err:
        raise _unwritable_error(target, err) from err


def _unwritable_error(target, err):
    reason = err.strerror or str(err)
    message = (
        f"{OWNER}: expected `directory` to be inside a writable directory. Received: "
        f"directory='{target}', but '{target.parent}' cannot be created or written "
        f"({reason}). Choose a directory you can write to, or fix the permissions of "
        f"'{target.parent}'."
    )
    error_type = PermissionError if isinstance(err, PermissionError) else OSError
    return error_type(message)


def replace_directory(staging, target):
    """Moves ``staging`` to ``target``; an existing ``target`` survives any failure."""
    if not target.exists():
        os.rename(staging, target)
        return
    # mkdtemp reserves a unique name; renaming a directory onto an empty directory is allowed.
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)
