"""Reading and writing files safely.

Writing: :func:`write_atomic` writes a regular file through a temporary file in the same folder,
renamed over the target, so that a failure leaves the previous file intact and nothing
half-written. It never replaces anything but a regular file: a symbolic link is followed to
its target (the link stays), a character device or a FIFO (``/dev/null``, ``/dev/stdout``, a
named pipe) is written through, a directory or another special file is refused.

Reading: :func:`read_limited` reads at most a given number of bytes from a regular file, a
pipe or a character device (``/dev/zero`` cannot fill the memory; a named FIFO that nobody
writes to reads as empty instead of hanging). :func:`find_files` walks a folder within bounds
and reports what it skipped.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from collections.abc import Iterable

from .errors import OutputError

__all__ = ["write_atomic", "read_limited", "FileTooLarge", "find_files", "WalkTooLarge", "special_kind", "clean_stale",
           "pid_alive"]


def special_kind(mode: int) -> str:
    """A short name of what a non-regular file is ("a FIFO", "a character device", ...)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _chunks(data: str | bytes | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(data, str):
        yield data.encode("utf-8")
    elif isinstance(data, bytes):
        yield data
    else:
        yield from data


def write_atomic(path: Path | str, data: str | bytes | Iterable[bytes]) -> None:
    """Write ``data`` (text, bytes, or an iterable of byte chunks, written as they come) to
    ``path``; raises :class:`OutputError` (the previous file is left as it was).

    A regular file (or a new one) is written through a temporary file renamed over it; a
    symbolic link is followed (the link is kept); a character device or a FIFO is written
    through; anything else is refused. A reader that closes a pipe early raises
    ``BrokenPipeError`` (the command line ends quietly on it)."""
    shown = str(path)
    if shown == "":
        raise OutputError("", "an empty file name")
    try:
        st: os.stat_result | None = os.stat(shown)  # follows symbolic links
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(shown, exc.strerror or str(exc)) from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            _write_through(shown, data)
            return
        raise OutputError(shown, f"is {special_kind(st.st_mode)}, not a regular file: it is not replaced")
    target = Path(os.path.realpath(shown)) if os.path.islink(shown) else Path(shown)
    _replace(shown, target, data, st)


def _write_through(shown: str, data: str | bytes | Iterable[bytes]) -> None:
    try:
        with open(shown, "wb", buffering=0) as fh:
            for chunk in _chunks(data):
                view = memoryview(chunk)
                while view:
                    view = view[fh.write(view) or 0:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise OutputError(shown, exc.strerror or str(exc)) from None


def _replace(shown: str, target: Path, data: str | bytes | Iterable[bytes], st: os.stat_result | None) -> None:
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp{os.getpid()}-", dir=directory)
    except FileNotFoundError:
        raise OutputError(shown, f"no such folder: {directory}") from None
    except OSError as exc:
        raise OutputError(shown, exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in _chunks(data):
                fh.write(chunk)
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)  # keep the mode of the file replaced
        else:
            mask = os.umask(0)  # mkstemp makes owner-only files; give the usual mode
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(shown, exc.strerror or str(exc)) from None
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def clean_stale(directory: Path, name: str) -> list[Path]:
    """Remove what a killed run (kill -9) left next to the output ``name``: its spool folders
    (``.NAME.spool-PID-…``) and temporary files (``.NAME.tmpPID-…``) whose process is gone.
    Returns what was removed."""
    import re
    import shutil

    pattern = re.compile(re.escape(f".{name}.") + r"(?:spool-|tmp)(\d+)-")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for e in entries:
        m = pattern.match(e.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path)
            else:
                os.unlink(e.path)
            removed.append(Path(e.path))
        except OSError:
            pass
    return removed


# ---- reading --------------------------------------------------------------------------------------


class FileTooLarge(Exception):
    """Raised by :func:`read_limited` when a file holds more than the limit."""


def read_limited(path: Path | str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them (:class:`FileTooLarge` beyond).

    Regular files, pipes and character devices are read; a directory raises
    ``IsADirectoryError``, a block device or a socket ``OSError``. A FIFO is opened without
    waiting: one that nobody writes to reads as empty."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        raise OSError(errno.EINVAL, f"is {special_kind(st.st_mode)}, not a file", str(path))
    if stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise FileTooLarge(str(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        chunks: list[bytes] = []
        total = 0
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            try:
                first = os.read(fd, 65536)
            except BlockingIOError:
                first = None  # a writer holds it open and has not written yet: wait for it
            if first == b"":
                return b""  # nobody writes to it
            if first:
                chunks.append(first)
                total = len(first)
        os.set_blocking(fd, True)
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise FileTooLarge(str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


class WalkTooLarge(Exception):
    """Raised by :func:`find_files` when a folder holds more entries or levels than allowed."""


def find_files(root: Path, suffixes: tuple[str, ...], *, max_depth: int = 16,
               max_entries: int = 20_000) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The regular files under ``root`` whose name ends in one of ``suffixes`` (sorted), and
    the entries with such a name that were skipped, each with the reason (a FIFO, a device, a
    broken symbolic link). Symbolic links to folders are followed once (no cycles).

    Raises :class:`WalkTooLarge` beyond ``max_entries`` entries or ``max_depth`` levels."""
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[tuple[int, int]] = set()
    entries = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append((folder, f"cannot read the folder: {exc.strerror or exc}"))
            continue
        for entry in items:
            entries += 1
            if entries > max_entries:
                raise WalkTooLarge(f"more than {max_entries} files and folders under {root}")
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if depth + 1 > max_depth:
                    raise WalkTooLarge(f"folders nested more than {max_depth} levels under {root}")
                stack.append((path, depth + 1))
                continue
            if not entry.name.lower().endswith(suffixes):
                continue
            try:
                st_e = os.stat(entry.path)
            except FileNotFoundError:
                skipped.append((path, "a broken symbolic link"))
                continue
            except OSError as exc:
                skipped.append((path, f"cannot read: {exc.strerror or exc}"))
                continue
            if stat.S_ISREG(st_e.st_mode):
                found.append(path)
            else:
                skipped.append((path, f"{special_kind(st_e.st_mode)}, not a regular file"))
    return sorted(found), sorted(skipped)
