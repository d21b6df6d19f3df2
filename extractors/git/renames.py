"""Rename pairing as `git log` does it by default (diffcore-rename, `-M50%`, no copies).

libgit2's `find_similar` scores similarity its own way and pairs files across the whole diff
differently from git, so on commits that rename-and-edit a file while adding or deleting others
its line counts and patch-ids differ from git's. Here git's steps are followed, on the added
(destinations) and deleted (sources) files of one diff, each list in git's queue order (by path):

1. exact renames: a destination takes a source with the same blob id (non-regular files only
   with the same mode), preferring one with the same basename, the first in path order otherwise;
2. basename matches: a source and a destination whose basenames are each unique among the files
   left pair when their similarity reaches 75 % (git raises the minimum half way to 100 % here);
3. the similarity matrix: every destination left keeps its 4 best sources (by score, then same
   basename) unless the matrix would exceed the rename limit squared (1000 x 1000); all kept
   candidates are sorted (stably) best first and taken greedily, each source and destination
   once, down to 50 %.

Similarity is git's estimate (diffcore-delta): the bytes of the destination found in the source,
counted by hashed spans of up to 64 bytes ending at a newline, over the larger size; pairs
whose sizes differ by more than the minimum allows score 0 without reading either file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cmp_to_key

import numpy as np

from extractors.git.patchid import MAX_SCORE, span_counts

MIN_SCORE = MAX_SCORE // 2  # git's default -M50%
BASENAME_MIN_SCORE = MIN_SCORE + 5 * (MAX_SCORE - MIN_SCORE) // 10
RENAME_LIMIT = 1000  # git's diff.renameLimit default
CANDIDATES_PER_DST = 4
_EXACT_ALTERNATIVES = 100  # git stops looking for a better identical source after this many
_S_IFMT = 0o170000
_S_IFREG = 0o100000


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a rename candidate: a deleted (source) or added (destination) file."""

    path: str
    mode: int
    oid: bytes  # raw 20-byte blob id


@dataclass(frozen=True, slots=True)
class Rename:
    src: int  # index into the sources given
    dst: int  # index into the destinations given
    score: int  # 0..MAX_SCORE; git prints score * 100 // MAX_SCORE as `similarity index`


def _is_reg(mode: int) -> bool:
    return mode & _S_IFMT == _S_IFREG


def _basename(path: str) -> str:
    return path.rpartition("/")[2]


def basename_same(a: str, b: str) -> bool:
    """git's basename_same(): the last path components are equal."""
    return _basename(a) == _basename(b)


class _Contents:
    """Sizes and span counts of blobs, read at most once."""

    def __init__(self, read: Callable[[bytes], bytes]) -> None:
        self._read = read
        self._data: dict[bytes, bytes] = {}
        self._spans: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def data(self, oid: bytes) -> bytes:
        d = self._data.get(oid)
        if d is None:
            d = self._data[oid] = self._read(oid)
        return d

    def spans(self, oid: bytes) -> tuple[np.ndarray, np.ndarray]:
        s = self._spans.get(oid)
        if s is None:
            d = self.data(oid)
            s = self._spans[oid] = span_counts(d, b"\0" not in d[:8000])
        return s


def similarity(contents: _Contents, src: Side, dst: Side, minimum: int) -> int:
    """git's estimate_similarity(): 0..MAX_SCORE (0 for non-regular files or sizes too far apart)."""
    if not (_is_reg(src.mode) and _is_reg(dst.mode)):
        return 0
    a, b = len(contents.data(src.oid)), len(contents.data(dst.oid))
    max_size, base_size = max(a, b), min(a, b)
    if max_size * (MAX_SCORE - minimum) < (max_size - base_size) * MAX_SCORE:
        return 0
    if not b:
        return 0
    src_keys, src_counts = contents.spans(src.oid)
    dst_keys, dst_counts = contents.spans(dst.oid)
    _, i, j = np.intersect1d(src_keys, dst_keys, assume_unique=True, return_indices=True)
    copied = int(np.minimum(src_counts[i], dst_counts[j]).sum())
    return copied * MAX_SCORE // max_size


def _exact(sources: Sequence[Side], dests: Sequence[Side], used: list[bool], out: dict[int, Rename]) -> None:
    by_oid: dict[bytes, list[int]] = {}
    for k, s in enumerate(sources):
        by_oid.setdefault(s.oid, []).append(k)
    for d, target in enumerate(dests):
        best, best_score, left = -1, -1, _EXACT_ALTERNATIVES
        for k in by_oid.get(target.oid, ()):
            source = sources[k]
            if not (_is_reg(source.mode) and _is_reg(target.mode)) and source.mode != target.mode:
                continue
            if used[k]:
                continue  # without copy detection a source is renamed once
            score = 1 + basename_same(source.path, target.path)
            if score > best_score:
                best, best_score = k, score
                if score == 2:
                    break
            left -= 1
            if not left:
                break
        if best >= 0:
            used[best] = True
            out[d] = Rename(best, d, MAX_SCORE)


def _by_basename(
    contents: _Contents,
    sources: Sequence[Side],
    dests: Sequence[Side],
    used: list[bool],
    out: dict[int, Rename],
) -> None:
    src_at: dict[str, int] = {}
    for k, s in enumerate(sources):
        if not used[k]:
            base = _basename(s.path)
            src_at[base] = -1 if base in src_at else k
    dst_at: dict[str, int] = {}
    for d, t in enumerate(dests):
        if d not in out:
            base = _basename(t.path)
            dst_at[base] = -1 if base in dst_at else d
    for k, s in enumerate(sources):
        if used[k]:
            continue
        base = _basename(s.path)
        d = dst_at.get(base)
        if d is None or src_at[base] == -1 or d == -1 or d in out:
            continue  # git would guess from directory renames here, which plain diffs never have
        score = similarity(contents, s, dests[d], BASENAME_MIN_SCORE)
        if score >= BASENAME_MIN_SCORE:
            used[k] = True
            out[d] = Rename(k, d, score)


# A candidate (score, same basename, dst, src); dst = -1 marks an empty slot.
_Candidate = tuple[int, int, int, int]
_EMPTY_SLOT: _Candidate = (0, 0, -1, -1)


def _compare(a: _Candidate, b: _Candidate) -> int:
    """git's score_compare(): > 0 when `a` ranks after `b` (empty slots last)."""
    if a[2] < 0:
        return 1 if b[2] >= 0 else 0
    if b[2] < 0:
        return -1
    if a[0] == b[0]:
        return b[1] - a[1]
    return b[0] - a[0]


def _matrix(
    contents: _Contents,
    sources: Sequence[Side],
    dests: Sequence[Side],
    used: list[bool],
    out: dict[int, Rename],
    rename_limit: int,
) -> None:
    src_left = [k for k in range(len(sources)) if not used[k]]
    dst_left = [d for d in range(len(dests)) if d not in out]
    if not src_left or not dst_left:
        return
    if rename_limit > 0 and len(src_left) * len(dst_left) > rename_limit * rename_limit:
        return  # git gives up inexact detection (and warns) beyond the limit
    slots: list[_Candidate] = []
    for d in dst_left:
        target = dests[d]
        m = [_EMPTY_SLOT] * CANDIDATES_PER_DST
        for k in src_left:
            source = sources[k]
            cand = (
                similarity(contents, source, target, MIN_SCORE),
                int(basename_same(source.path, target.path)),
                d,
                k,
            )
            worst = 0
            for i in range(1, CANDIDATES_PER_DST):
                if _compare(m[i], m[worst]) > 0:
                    worst = i
            if _compare(m[worst], cand) > 0:
                m[worst] = cand
        slots.extend(m)
    slots.sort(key=cmp_to_key(_compare))  # stable, as git's sort of the matrix
    for score, _, d, k in slots:
        if d < 0 or score < MIN_SCORE:
            break
        if d in out or used[k]:
            continue
        used[k] = True
        out[d] = Rename(k, d, score)


def find_renames(
    sources: Sequence[Side],
    dests: Sequence[Side],
    read: Callable[[bytes], bytes],
    *,
    rename_limit: int = RENAME_LIMIT,
) -> list[Rename]:
    """The renames git finds between deleted `sources` and added `dests`, each list sorted by path
    (git's queue order; the order breaks ties). `read(oid)` gives a blob's content."""
    if not sources or not dests:
        return []
    used = [False] * len(sources)
    out: dict[int, Rename] = {}
    _exact(sources, dests, used, out)
    contents = _Contents(read)
    if len(out) < len(dests) and not all(used):
        _by_basename(contents, sources, dests, used, out)
        _matrix(contents, sources, dests, used, out, rename_limit)
    return sorted(out.values(), key=lambda r: r.dst)


def path_key(path: str) -> bytes:
    """The sort key of git's diff queue: the path's bytes."""
    return path.encode("utf-8", "surrogateescape")
