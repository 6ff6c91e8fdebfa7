"""Moving a file into place without ever replacing one, with or without hard links (FAT)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP})
"""What link(2) says on a filesystem without hard links (FAT: the appliance's evidence medium)."""


def move_no_replace(path: Path, target: Path) -> None:
    """Rename ``path`` to ``target``, raising FileExistsError rather than replace ``target``.

    link + unlink never replaces a file. FAT has no hard links; there the target is checked to
    be absent and the file renamed (one process writes a ceremony's folder, so nothing can
    appear between the check and the rename).
    """
    try:
        os.link(path, target)
    except OSError as exc:
        if exc.errno not in NO_HARD_LINKS:
            raise
        if target.exists() or target.is_symlink():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from exc
        os.rename(path, target)
        return
    os.unlink(path)
