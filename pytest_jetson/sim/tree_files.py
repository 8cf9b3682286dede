"""An in-memory file set that the tree generator fills and then writes in one pass."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TreeFiles:
    """Files, symlinks and empty directories keyed by their path relative to a root."""

    files: dict[str, bytes] = field(default_factory=dict)
    executables: set[str] = field(default_factory=set)
    links: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def text(self, rel: str, content: str, *, executable: bool = False) -> None:
        """Add a text file (UTF-8)."""
        self.data(rel, content.encode(), executable=executable)

    def data(self, rel: str, content: bytes, *, executable: bool = False) -> None:
        """Add a binary file."""
        self.files[rel] = content
        if executable:
            self.executables.add(rel)

    def link(self, rel: str, target: str) -> None:
        """Add a symlink at ``rel`` pointing at ``target`` (relative to the link's dir)."""
        self.links[rel] = target

    def mkdir(self, rel: str) -> None:
        """Add a (possibly empty) directory."""
        self.dirs.add(rel)

    def merge(self, other: TreeFiles, prefix: str = "") -> None:
        """Add everything of ``other`` under ``prefix`` (``""`` or ``"rootfs/"``)."""
        for rel, content in other.files.items():
            self.files[prefix + rel] = content
        self.executables.update(prefix + r for r in other.executables)
        for rel, target in other.links.items():
            self.links[prefix + rel] = target
        self.dirs.update(prefix + d for d in other.dirs)

    def write(self, root: Path) -> None:
        """Write everything below ``root`` (created if missing)."""
        made: set[str] = set()

        def ensure(parent: str) -> None:
            if parent not in made:
                os.makedirs(root / parent, exist_ok=True)
                made.add(parent)

        for rel in sorted(self.dirs):
            ensure(rel)
        for rel in sorted(self.files):
            ensure(os.path.dirname(rel))
            path = root / rel
            path.write_bytes(self.files[rel])
            if rel in self.executables:
                path.chmod(0o755)
        for rel in sorted(self.links):
            ensure(os.path.dirname(rel))
            path = root / rel
            if path.is_symlink() or path.exists():
                path.unlink()
            os.symlink(self.links[rel], path)
