"""C-like source text and the edits made to it.

The text only has to look like C and, more importantly, give ``git log --numstat`` varied counts
and give diffs whose hunks are unambiguous: most generated lines carry a random identifier or number,
so git's and libgit2's diff algorithms agree on the hunks (the mail and the commit must yield the same
patch-id).
"""

from __future__ import annotations

import random

Lines = tuple[str, ...]

NOUNS = [
    "vcpu",
    "kvm",
    "mmu",
    "irq",
    "gpa",
    "hva",
    "slot",
    "page",
    "reg",
    "ctx",
    "vm",
    "dev",
    "queue",
    "ring",
    "timer",
    "msr",
    "cpuid",
    "pte",
    "spte",
    "gfn",
    "lapic",
    "ioapic",
    "dirty",
]
VERBS = [
    "init",
    "setup",
    "flush",
    "update",
    "handle",
    "emulate",
    "inject",
    "map",
    "unmap",
    "lookup",
    "alloc",
    "free",
    "sync",
    "reset",
    "load",
    "save",
    "check",
    "enable",
    "disable",
    "walk",
]
STRUCTS = [
    "kvm_vcpu",
    "kvm",
    "kvm_memory_slot",
    "kvm_mmu_page",
    "vm_state",
    "device_ctx",
    "ring_buffer",
    "timer_list",
    "page",
]
ERRORS = ["EINVAL", "ENOMEM", "EFAULT", "EBUSY", "ENOSPC", "EAGAIN", "EOPNOTSUPP"]
WORDS = [
    "make",
    "sure",
    "the",
    "guest",
    "state",
    "is",
    "consistent",
    "before",
    "we",
    "touch",
    "the",
    "shadow",
    "tables",
    "and",
    "never",
    "sleep",
    "while",
    "holding",
    "the",
    "lock",
    "because",
    "the",
    "caller",
    "may",
    "run",
    "in",
    "atomic",
    "context",
    "so",
    "defer",
    "the",
    "work",
    "to",
    "the",
    "worker",
    "thread",
    "which",
    "also",
    "handles",
    "migration",
    "of",
    "dirty",
    "pages",
]


def _ident(rng: random.Random) -> str:
    return f"{rng.choice(NOUNS)}_{rng.choice(NOUNS)}{rng.randint(0, 99)}"


def statement(rng: random.Random) -> str:
    a, b = _ident(rng), _ident(rng)
    n = rng.randint(0, 4096)
    return rng.choice(
        [
            f"\t{a} = {rng.choice(VERBS)}_{rng.choice(NOUNS)}({b}, {n});",
            f"\tif ({a} > {n})\n\t\treturn -{rng.choice(ERRORS)};",
            f"\t{a}->{rng.choice(NOUNS)} |= {hex(n)};",
            f"\t{rng.choice(VERBS)}_{rng.choice(NOUNS)}({a}, {b});",
            f"\t/* {' '.join(rng.sample(WORDS, 7))} ({n}) */",
            f"\tWARN_ON_ONCE(!{a} && {b} != {n});",
        ]
    )


def function_block(rng: random.Random, prefix: str) -> list[str]:
    name = f"{prefix}_{rng.choice(VERBS)}_{rng.choice(NOUNS)}{rng.randint(0, 999)}"
    struct, var = rng.choice(STRUCTS), rng.choice(NOUNS)
    body: list[str] = []
    for _ in range(rng.randint(3, 10)):
        body.extend(statement(rng).split("\n"))
    return [
        f"static int {name}(struct {struct} *{var})",
        "{",
        f"\tint {_ident(rng)} = {rng.randint(0, 9)};",
        *body,
        "\treturn 0;",
        "}",
        "",
    ]


def new_file(rng: random.Random, path: str, blocks: int) -> Lines:
    prefix = path.rsplit("/", 1)[-1].split(".")[0].replace("-", "_")
    if path.endswith(".h"):
        guard = path.upper().replace("/", "_").replace(".", "_").replace("-", "_")
        lines = ["/* SPDX-License-Identifier: GPL-2.0 */", f"#ifndef {guard}", f"#define {guard}", ""]
        for _ in range(blocks * 4):
            lines.append(f"int {prefix}_{rng.choice(VERBS)}_{_ident(rng)}(struct {rng.choice(STRUCTS)} *p);")
        lines += ["", f"#endif /* {guard} */"]
        return tuple(lines)
    lines = ["// SPDX-License-Identifier: GPL-2.0", f"/* {path}: {' '.join(rng.sample(WORDS, 5))} */", ""]
    lines += [f"#include <linux/{rng.choice(NOUNS)}.h>" for _ in range(rng.randint(2, 4))] + [""]
    for _ in range(blocks):
        lines += function_block(rng, prefix)
    return tuple(lines)


def _statement_lines(rng: random.Random, count: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        out.extend(statement(rng).split("\n"))
    return out


def edit(rng: random.Random, path: str, lines: Lines, size: str = "small") -> Lines:
    """One plausible change to a file: replace, insert, delete lines, or add/remove a function.

    ``size`` is "tiny" (a line or two, used for renames), "small" or "large".
    """
    out = list(lines)
    n = len(out)
    prefix = path.rsplit("/", 1)[-1].split(".")[0].replace("-", "_")
    if path.endswith(".h"):
        # Headers: add or drop declarations.
        pos = rng.randint(4, max(4, n - 3))
        if rng.random() < 0.7 or n < 12:
            new = [
                f"int {prefix}_{rng.choice(VERBS)}_{_ident(rng)}(struct {rng.choice(STRUCTS)} *p);"
                for _ in range(rng.randint(1, 4))
            ]
            out[pos:pos] = new
        else:
            del out[pos : pos + rng.randint(1, 3)]
        return tuple(out)
    if size == "tiny":
        pos = rng.randint(5, n - 2)
        out[pos] = statement(rng).split("\n")[0]
        return tuple(out)
    ops = (
        ["replace", "insert", "delete", "function"]
        if size == "small"
        else ["function", "function", "replace"]
    )
    if n > 450:
        ops = ["delete", "drop_function", "replace"]
    for op in rng.sample(ops, rng.randint(1, 2)):
        n = len(out)
        body_start = 6
        if n <= body_start + 10:
            op = "function"
        if op == "replace":
            pos = rng.randint(body_start, n - 3)
            k = rng.randint(1, 4)
            out[pos : pos + k] = _statement_lines(rng, rng.randint(1, 5))
        elif op == "insert":
            pos = rng.randint(body_start, n - 2)
            out[pos:pos] = _statement_lines(rng, rng.randint(1, 12))
        elif op == "delete":
            pos = rng.randint(body_start, n - 3)
            del out[pos : pos + rng.randint(1, 8)]
        elif op == "function":
            starts = [i for i, line in enumerate(out) if line.startswith("static int ")] or [n]
            pos = rng.choice(starts)
            block = function_block(rng, prefix)
            if size == "large":
                block += function_block(rng, prefix)
            out[pos:pos] = block
        elif op == "drop_function":
            starts = [i for i, line in enumerate(out) if line.startswith("static int ")]
            if len(starts) > 2:
                i = rng.randrange(len(starts) - 1)
                del out[starts[i] : starts[i + 1]]
    return tuple(out)


def binary_blob(rng: random.Random, size: int) -> bytes:
    """A firmware-like blob: a header, then bytes with plenty of NULs so git sees it as binary."""
    body = bytes(rng.choice((0, 0, 0, rng.randrange(256))) for _ in range(size))
    return b"FWIMG\x00\x01\x00" + body


def encode(lines: Lines) -> bytes:
    return ("\n".join(lines) + "\n").encode()
