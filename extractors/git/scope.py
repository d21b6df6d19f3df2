"""Path scopes: which files of a repository belong to a project.

Patterns follow git's default pathspec rules (as in `git log -- <pathspec>`):

- a pattern without wildcards names a file or a directory: `virt` and `virt/` both match
  everything under `virt/`, but not `virtio/`;
- a pattern with wildcards (`*`, `?`, `[...]`) is matched against the whole file path with
  git's wildmatch *without* pathname semantics, so `*` also matches `/`
  (`include/linux/kvm*.h`, `arch/*/kvm/*`).

One extension: git matches nothing for a wildcard pattern that ends in `/` (`arch/*/kvm/`,
since no file path ends in a slash), which is never what a scope means. Such a pattern is read
as "everything under the matching directories", i.e. git's `arch/*/kvm/*`.
`git_pathspecs()` returns the pathspecs git needs to select the same files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pygit2

_GLOB_SPECIAL = "*?[\\"

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\v\\f",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}


def _nowildcard_len(pattern: str) -> int:
    for i, ch in enumerate(pattern):
        if ch in _GLOB_SPECIAL:
            return i
    return len(pattern)


def wildmatch_regex(pattern: str) -> re.Pattern[str]:
    """Translate a git wildmatch pattern (no WM_PATHNAME: `*` crosses `/`) to a regex."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append(".*")
            continue
        if ch == "?":
            out.append(".")
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            j = i + 1
            negate = j < n and pattern[j] in "!^"
            if negate:
                j += 1
            parts: list[str] = []
            first = True
            while j < n and (first or pattern[j] != "]"):
                first = False
                if pattern.startswith("[:", j):
                    end = pattern.find(":]", j + 2)
                    name = pattern[j + 2 : end] if end > 0 else ""
                    if name in _POSIX_CLASSES:
                        parts.append(_POSIX_CLASSES[name])
                        j = end + 2
                        continue
                c = pattern[j]
                if c == "\\" and j + 1 < n:
                    j += 1
                    c = pattern[j]
                if j + 2 < n and pattern[j + 1] == "-" and pattern[j + 2] != "]":
                    hi = pattern[j + 2]
                    parts.append(f"{re.escape(c)}-{re.escape(hi)}")
                    j += 3
                    continue
                parts.append(re.escape(c))
                j += 1
            if j >= n:  # unterminated class: git treats the pattern as not matching
                return re.compile(r"(?!)")
            out.append(("[^" if negate else "[") + "".join(parts) + "]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


class _Spec:
    __slots__ = ("pattern", "literal", "regex", "prefix")

    def __init__(self, raw: str) -> None:
        p = raw.strip()
        while p.startswith("./"):
            p = p[2:]
        p = p.lstrip("/")
        nowild = _nowildcard_len(p)
        if nowild < len(p) and p.endswith("/"):
            p += "*"
        self.pattern = p
        self.literal = p.rstrip("/") if nowild == len(p) else None
        self.regex = None if self.literal is not None else wildmatch_regex(p)
        # the literal leading directories: only files below them can match
        self.prefix = p[: _nowildcard_len(p)]

    def matches(self, path: str) -> bool:
        lit = self.literal
        if lit is not None:
            return lit == "" or path == lit or (path.startswith(lit) and path[len(lit)] == "/")
        # git also tries a wildcard pattern literally first
        if path == self.pattern or path.startswith(self.pattern.rstrip("/") + "/"):
            return True
        return self.regex.fullmatch(path) is not None  # type: ignore[union-attr]

    def dir_may_match(self, dirpath: str) -> bool:
        """Can a file below `dirpath` (ending in '/') match?"""
        lit = self.literal
        if lit is not None:
            return lit == "" or dirpath.startswith(lit + "/") or (lit + "/").startswith(dirpath)
        return dirpath.startswith(self.prefix) or self.prefix.startswith(dirpath)

    def dir_fully_in(self, dirpath: str) -> bool:
        """Does every file below `dirpath` match?"""
        lit = self.literal
        if lit is not None:
            return lit == "" or dirpath.startswith(lit + "/")
        return self.pattern == self.prefix + "*" and dirpath.startswith(self.prefix)

    def root(self) -> str:
        """The deepest directory (or file, for a literal) that holds every match."""
        if self.literal is not None:
            return self.literal
        return self.prefix.rsplit("/", 1)[0] if "/" in self.prefix else ""


class PathScope:
    """A set of path patterns; empty means the whole repository."""

    def __init__(self, paths: Iterable[str] | None = None) -> None:
        self.patterns = [p for p in (paths or []) if p and p.strip()]
        self.specs = [_Spec(p) for p in self.patterns]
        self.everything = not self.specs or any(s.literal == "" for s in self.specs)
        roots = sorted({s.root() for s in self.specs})
        # drop roots nested in another root: the outer comparison covers them
        self._roots = [
            r for r in roots if not any(o != r and (o == "" or r.startswith(o + "/")) for o in roots)
        ]

    def __bool__(self) -> bool:
        return not self.everything

    def git_pathspecs(self) -> list[str]:
        """Pathspecs that make `git log -- <pathspecs>` select the same files."""
        return [s.pattern for s in self.specs]

    def matches(self, path: str) -> bool:
        if self.everything:
            return True
        return any(s.matches(path) for s in self.specs)

    def dir_may_match(self, dirpath: str) -> bool:
        """Can a file below `dirpath` (ending in '/') be in the scope?"""
        if self.everything:
            return True
        return any(s.dir_may_match(dirpath) for s in self.specs)

    def _dir_fully_in(self, dirpath: str) -> bool:
        return any(s.dir_fully_in(dirpath) for s in self.specs)

    def trees_differ(self, old: pygit2.Tree | None, new: pygit2.Tree | None) -> bool:
        """Does any in-scope file differ between two trees (None = the empty tree)?

        Compares object ids from the scope's literal roots down, so unchanged subtrees cost one
        lookup each and a large repository with a small scope is cheap to filter.
        """
        if self.everything:
            return _tree_nonempty_diff(old, new)
        for root in self._roots:
            a = _lookup(old, root)
            b = _lookup(new, root)
            if a is None and b is None:
                continue
            if a is not None and b is not None and a.id == b.id and _mode(a) == _mode(b):
                continue
            if self._entry_differs(a, b, root):
                return True
        return False

    def _entry_differs(self, a: pygit2.Object | None, b: pygit2.Object | None, path: str) -> bool:
        a_tree = a if a is not None and a.type == pygit2.enums.ObjectType.TREE else None
        b_tree = b if b is not None and b.type == pygit2.enums.ObjectType.TREE else None
        # a file (or submodule) on at least one side
        file_side = (a is not None and a_tree is None) or (b is not None and b_tree is None)
        if file_side and path and self.matches(path):
            return True
        if a_tree is None and b_tree is None:
            return False
        dirpath = path + "/" if path else ""
        if dirpath and self._dir_fully_in(dirpath):
            return _tree_nonempty_diff(a_tree, b_tree)
        if dirpath and not self.dir_may_match(dirpath):
            return False
        a_entries = {e.name: e for e in a_tree} if a_tree is not None else {}
        b_entries = {e.name: e for e in b_tree} if b_tree is not None else {}
        for name in a_entries.keys() | b_entries.keys():
            ea = a_entries.get(name)
            eb = b_entries.get(name)
            if ea is not None and eb is not None and ea.id == eb.id and ea.filemode == eb.filemode:
                continue
            if self._entry_differs(ea, eb, dirpath + name):
                return True
        return False


def _tree_nonempty_diff(a: pygit2.Tree | None, b: pygit2.Tree | None) -> bool:
    if a is None or b is None:
        t = a if a is not None else b
        return t is not None and _has_files(t)
    return a.id != b.id


def _has_files(tree: pygit2.Tree) -> bool:
    return any(e.type != pygit2.enums.ObjectType.TREE or _has_files(e) for e in tree)  # type: ignore[arg-type]


def _lookup(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    if tree is None:
        return None
    if not path:
        return tree
    try:
        return tree[path]
    except KeyError:
        return None


def _mode(obj: pygit2.Object) -> int | None:
    # objects looked up through a tree carry their mode; a root tree does not
    return getattr(obj, "filemode", None)
