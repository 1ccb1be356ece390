"""Files written whole or not at all: into a temporary file beside the target, then renamed over it,
so a reader (a browser, a web server, the next build) never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# A file changed less than this long ago may change again within the same tick of its file
# system's clock (up to 2 s on FAT, some network shares) with its size and times the same (git's
# "racy clean"): what was read of it, keyed by those, is not kept.
SETTLE_NS = 2_000_000_000


def write_atomically(path: Path, *pieces: bytes | memoryview) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.writelines(pieces)
        os.chmod(temp, 0o644)
        os.replace(temp, path)  # several processes may write the same file at once: each rename is whole
    finally:
        Path(temp).unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))
