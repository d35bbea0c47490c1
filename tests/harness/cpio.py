# SPDX-License-Identifier: GPL-2.0
"""A writer for the "newc" cpio format the kernel unpacks as its initramfs.

Writing the archive directly (rather than with cpio(1)) gives reproducible
archives and lets an unprivileged user add device nodes such as /dev/console.
"""

import stat


class CpioWriter:
    """Collects entries and writes them as one newc archive."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._ino = 1
        self._dirs: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0),
               nlink: int = 1) -> None:
        name_b = name.lstrip("/").encode() + b"\0"
        fields = [0x070701, self._ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_b), 0]
        self._ino += 1
        header = "{:06X}".format(fields[0]) + "".join("{:08X}".format(f) for f in fields[1:])
        self._add(header.encode() + name_b)
        self._add(data)

    def _add(self, chunk: bytes) -> None:
        """Appends a chunk padded to the format's 4-byte alignment."""
        pad = -(self._size + len(chunk)) % 4
        self._chunks.append(chunk + b"\0" * pad)
        self._size += len(chunk) + pad

    def mkdir(self, path: str) -> None:
        """Adds a directory and its missing parents."""
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p and p not in self._dirs:
                self._dirs.add(p)
                self._entry(p, stat.S_IFDIR | 0o755, nlink=2)

    def _parent(self, path: str) -> None:
        parent = path.strip("/").rpartition("/")[0]
        if parent:
            self.mkdir(parent)

    def file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Adds a regular file."""
        self._parent(path)
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path: str, target: str) -> None:
        """Adds a symbolic link."""
        self._parent(path)
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Adds a character device node."""
        self._parent(path)
        self._entry(path, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        """Returns the archive, trailer included."""
        self._entry("TRAILER!!!", 0)
        return b"".join(self._chunks)
