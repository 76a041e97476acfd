"""Writing files atomically: through a temporary file in the same folder, renamed over the
target, so that a failure leaves the previous file intact and nothing half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from collections.abc import Iterable

__all__ = ["write_atomic"]


def write_atomic(path: Path | str, data: str | bytes | Iterable[bytes]) -> None:
    """Write ``data`` (text, bytes, or an iterable of byte chunks, written as they come) to
    ``path`` through a temporary file renamed over it."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, str):
                fh.write(data.encode("utf-8"))
            elif isinstance(data, bytes):
                fh.write(data)
            else:
                for chunk in data:
                    fh.write(chunk)
        mask = os.umask(0)  # mkstemp makes owner-only files; give the usual mode
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
