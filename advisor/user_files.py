"""Files the user names for the advisor to write (``--export``, ``--plot``, ``Monitor(save=)``),
written without ever overwriting or corrupting anything.

A target is made absolute when it is given, because a script may ``os.chdir`` before its
``fit``; it is proven writable (a file is created beside it and removed) before any training,
so that a long run is never lost at the end for want of a folder. The file itself is written
under a temporary name beside the target and only then linked into place: ``os.link`` fails if
the target exists by then, so of two runs racing for one name one saves and one refuses, and a
write that fails part-way (a full disk) leaves nothing behind, not even a half-written file
that every later run would refuse to replace.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from advisor.errors import AdvisorError, error_summary

NEVER_OVERWRITES = "already exists; the advisor never overwrites files"


def claim_new_file(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, once it is known that a new file can be written there.

    Raises :class:`AdvisorError` when the path names a folder or an existing file, when its
    folder is missing, or when nothing can be created in that folder.
    """
    target = Path(os.path.abspath(path))
    if target.is_dir():
        raise AdvisorError(f"{target}: is a folder; name a file to write")
    if target.exists() or target.is_symlink():
        raise AdvisorError(f"{target}: {NEVER_OVERWRITES}")
    if target.parent.exists() and not target.parent.is_dir():
        raise AdvisorError(f"{target}: {target.parent} is not a folder")
    if not target.parent.is_dir():
        raise AdvisorError(f"{target}: folder {target.parent} does not exist")
    try:
        _new_temporary(target).unlink()
    except OSError as error:
        raise AdvisorError(
            f"{target}: cannot write in folder {target.parent} ({error.strerror or error})"
        ) from None
    return target


def write_new_file(target: Path, write: Callable[[Path], object]) -> None:
    """Have ``write`` fill a temporary file beside ``target``, then move it into place only if
    ``target`` still does not exist; on any failure nothing is left behind.

    Raises :class:`AdvisorError` (one line) when the target appeared meanwhile or the write
    failed.
    """
    try:
        temporary = _new_temporary(target)
    except OSError as error:
        raise AdvisorError(
            f"{target}: cannot write in folder {target.parent} ({error.strerror or error})"
        ) from None
    try:
        write(temporary)
        _link_into_place(temporary, target)
    except FileExistsError:
        raise AdvisorError(
            f"{target}: {NEVER_OVERWRITES} (it appeared while the advisor ran); nothing was saved"
        ) from None
    except Exception as error:
        raise AdvisorError(
            f"{target}: could not be written ({error_summary(error)}); nothing was saved"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def _new_temporary(target: Path) -> Path:
    """A new empty file beside ``target``, hidden, with the same suffix (Keras and matplotlib
    read the format from it); created with ``O_EXCL`` and the user's umask."""
    name = f".{target.stem}.{secrets.token_hex(6)}.partial{target.suffix}"
    temporary = target.with_name(name)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return temporary


def _link_into_place(temporary: Path, target: Path) -> None:
    """``temporary`` becomes ``target``; raises FileExistsError if ``target`` exists."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: reserve the name exclusively instead
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            os.replace(temporary, target)
        except OSError:
            target.unlink(missing_ok=True)
            raise
