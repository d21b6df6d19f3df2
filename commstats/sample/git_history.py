"""Writing a bare git repository, commit by commit, with pygit2.

Every object is created with explicit content, signatures and times (no clock, no config), so commit
SHAs are a pure function of the inputs. The tree of a commit is built from an in-memory index that
is updated with just the files a change touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pygit2
from pygit2.enums import DiffFind, DiffOption, FileMode

from commstats.sample.content import Lines, encode

Content = Lines | bytes  # text as lines, or a binary blob


@dataclass
class Branch:
    """A line of history: the files at its tip, their blob ids, and the tip commit."""

    files: dict[str, Content]
    index: pygit2.Index
    head: pygit2.Oid | None = None
    blobs: dict[str, pygit2.Oid] = field(default_factory=dict)


def signature(name: str, address: str, when: datetime) -> pygit2.Signature:
    offset = int(when.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    return pygit2.Signature(name, address, int(when.timestamp()), offset)


class RepoWriter:
    """A bare repository on branch ``master``, plus short-lived topic branches for merges."""

    def __init__(self, path: Path) -> None:
        self.repo = pygit2.init_repository(str(path), bare=True, initial_head="master")
        self.master = Branch(files={}, index=pygit2.Index())
        self.commits = 0

    def fork(self, branch: Branch) -> Branch:
        """A topic branch starting at ``branch``'s tip."""
        index = pygit2.Index()
        for path, oid in branch.blobs.items():
            index.add(pygit2.IndexEntry(path, oid, FileMode.BLOB))
        return Branch(files=dict(branch.files), index=index, head=branch.head, blobs=dict(branch.blobs))

    def apply(self, branch: Branch, changes: dict[str, Content | None]) -> None:
        """Set (or with ``None`` delete) files on a branch, without committing."""
        for path, content in changes.items():
            if content is None:
                branch.files.pop(path, None)
                branch.blobs.pop(path, None)
                branch.index.remove(path)
                continue
            data = content if isinstance(content, bytes) else encode(content)
            oid = self.repo.create_blob(data)
            branch.files[path] = content
            branch.blobs[path] = oid
            branch.index.add(pygit2.IndexEntry(path, oid, FileMode.BLOB))

    def commit(
        self,
        branch: Branch,
        changes: dict[str, Content | None],
        author: pygit2.Signature,
        committer: pygit2.Signature,
        message: str,
        extra_parents: tuple[pygit2.Oid, ...] = (),
    ) -> pygit2.Oid:
        self.apply(branch, changes)
        tree = branch.index.write_tree(self.repo)
        parents = ([branch.head] if branch.head is not None else []) + list(extra_parents)
        ref = "refs/heads/master" if branch is self.master else None
        oid = self.repo.create_commit(ref, author, committer, message, tree, parents)
        branch.head = oid
        self.commits += 1
        return oid

    def patch_text(self, oid: pygit2.Oid) -> str:
        """The commit's diff against its first parent, as ``git show``/``git format-patch`` prints it.

        The indent heuristic and rename detection are git's defaults; using them here keeps the
        hunks (and therefore the patch-id) identical to what git computes for the commit.
        """
        commit = self.repo[oid]
        parent = commit.parents[0].tree if commit.parents else None
        diff = self.repo.diff(parent, commit.tree, flags=DiffOption.INDENT_HEURISTIC, context_lines=3)
        diff.find_similar(flags=DiffFind.FIND_RENAMES)
        return diff.patch or ""


def adhoc_patch(path: str, old: Lines, new: Lines) -> str:
    """A diff between two versions of a file that never become a commit (unmerged mail patches).

    The patch points into the two buffers, so they are kept referenced until its text is built.
    """
    old_data, new_data = encode(old), encode(new)
    patch = pygit2.Patch.create_from(old_data, new_data, old_as_path=path, new_as_path=path, context_lines=3)
    return patch.text or ""
