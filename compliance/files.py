"""Writing the tool's own files safely: a whole file or none, and only ever a regular file.

Every file the tool writes (a report or saved plan given with ``--out``, the backup, the audit
log, the collector script) goes through here, so that each gets the same two guarantees:

- A target that exists and is not a regular file (a symlink, FIFO, device node such as
  ``/dev/null``, socket or folder) is refused with one line, never replaced: renaming a
  temporary file over ``/dev/null`` as root would replace the device itself. ``os.lstat`` is
  used, so a symlink is refused rather than followed.
- A whole-file write goes to a temporary file in the same folder, is fsynced, renamed over the
  target and the folder fsynced; on any failure (a full disk, a parent that is a file) the
  temporary file is removed and the error is one line (``InputError``, exit 1).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from compliance.errors import InputError

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str | None:
    """What a file of ``mode`` is when it is not a regular file; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _refusal(path: Path, what: str, kind: str) -> InputError:
    return InputError(f"{path}: cannot write the {what}: it is {kind}, not a regular file (left as it is)")


def refuse_non_regular(path: Path, what: str) -> None:
    """Raise ``InputError`` when ``path`` exists and is anything but a regular file (no symlink following)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    if (kind := _not_regular(mode)) is not None:
        raise _refusal(path, what, kind)


def _os_error(path: Path, what: str, exc: OSError, *, folders: tuple[Path, ...] = ()) -> InputError:
    """One line for an OSError; a parent that is a file gets its own words (mkdir says only "File exists")."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        parent = next((p for p in (*folders, *path.parents) if p.exists() and not p.is_dir()), None)
        if parent is not None:
            return InputError(f"{path}: cannot write the {what}: {parent} is a file, not a folder")
    return InputError(f"{path}: cannot write the {what}: {exc.strerror or exc}")


def ensure_folder(folder: Path, what: str) -> None:
    """Create ``folder`` (and its parents) for the ``what`` file, or raise one line saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(folder, what, exc, folders=(folder,)) from None


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (POSIX needs the folder itself fsynced)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str | bytes, *, what: str = "report", make_folders: bool = True) -> None:
    """Write ``data`` (text as UTF-8) to a temp file beside ``path``, fsync, rename over ``path``.

    ``make_folders`` False: a missing folder is an error rather than created.
    """
    refuse_non_regular(path, what)
    if make_folders:
        ensure_folder(path.parent, what)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # Checked again just before the rename: something may have appeared there meanwhile.
        refuse_non_regular(path, what)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _os_error(path, what, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def create_new(path: Path, data: str, *, what: str) -> None:
    """Create ``path``, which must not exist (``FileExistsError`` if it does), durably.

    ``O_EXCL`` never follows a symlink nor opens an existing device or FIFO, so this needs no
    ``lstat``. A partly written file is removed on failure.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        fsync_dir(path.parent)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def append_line(path: Path, line: str, *, what: str) -> None:
    """Append ``line`` with one ``write`` to a regular file, fsynced; raise one line on failure.

    ``O_NOFOLLOW`` refuses a symlink; ``O_NONBLOCK`` keeps a FIFO from blocking the open, and
    ``fstat`` on the opened descriptor refuses anything else that is not a regular file (the
    check is on what was opened, so nothing can be swapped in between).
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            refuse_non_regular(path, what)  # names what it is
        raise _os_error(path, what, exc) from None
    try:
        if (kind := _not_regular(os.fstat(fd).st_mode)) is not None:
            raise _refusal(path, what, kind)
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        raise _os_error(path, what, exc) from None
    finally:
        os.close(fd)
