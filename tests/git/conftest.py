"""Repositories built with the git CLI for comparing the extraction against git itself."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

BASE_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ann Author",
    "GIT_AUTHOR_EMAIL": "Ann.Author@Example.com",
    "GIT_COMMITTER_NAME": "Carl Committer",
    "GIT_COMMITTER_EMAIL": "carl@example.org",
    "GIT_AUTHOR_DATE": "@1600000000 +0000",
    "GIT_COMMITTER_DATE": "@1600000000 +0000",
}

SCOPE = ["virt/", "arch/*/kvm/", "include/linux/kvm*.h"]


class Git:
    """A work tree driven through the git CLI, with deterministic identities and dates."""

    def __init__(self, path: Path, home: Path) -> None:
        self.path = path
        self.env = {**os.environ, **BASE_ENV, "HOME": str(home)}
        self.clock = 1600000000

    def __call__(self, *args: str | bytes, input: bytes | None = None, env: dict | None = None) -> bytes:
        e = dict(self.env)
        if env:
            e.update(env)
        res = subprocess.run(
            ["git", *args], cwd=self.path, env=e, input=input, capture_output=True, check=False
        )
        if res.returncode != 0:
            raise RuntimeError(f"git {args}: {res.stderr.decode(errors='replace')}")
        return res.stdout

    def text(self, *args: str, **kw) -> str:
        return self(*args, **kw).decode("utf-8", errors="surrogateescape")

    def write(self, rel: str, data: str | bytes) -> None:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)

    def commit(
        self, message: str | bytes, *, date: str | None = None, env: dict | None = None, config: tuple = ()
    ) -> str:
        self.clock += 3600
        d = date or f"@{self.clock} +0200"
        e = {"GIT_AUTHOR_DATE": d, "GIT_COMMITTER_DATE": d, **(env or {})}
        self("add", "-A")
        msg = message if isinstance(message, bytes) else message.encode()
        self(*config, "commit", "-q", "--allow-empty", "-F", "-", input=msg, env=e)
        return self.text("rev-parse", "HEAD").strip()


def init_repo(path: Path, home: Path) -> Git:
    path.mkdir(parents=True, exist_ok=True)
    g = Git(path, home)
    g("init", "-q", "-b", "main", ".")
    g("config", "core.autocrlf", "false")
    return g


def c_file(n: int, tag: str = "") -> str:
    body = []
    for i in range(n):
        body.append(f"int f{i}{tag}(int x)\n{{\n\tif (x > {i})\n\t\treturn x;\n\treturn {i};\n}}\n\n")
    return "".join(body)


def build_zoo(path: Path, home: Path) -> Git:
    """A history with the cases git's numstat, patch-id and trailer rules care about."""
    g = init_repo(path, home)
    g.write("virt/kvm/kvm_main.c", c_file(6))
    g.write("arch/x86/kvm/x86.c", c_file(5, "x"))
    g.write("arch/arm64/kvm/arm.c", c_file(3, "a"))
    g.write("arch/x86/mm/init.c", c_file(3, "m"))
    g.write("arch/kvmish.c", "no\n")
    g.write("include/linux/kvm_host.h", "#define KVM 1\n")
    g.write("include/linux/other.h", "#define OTHER 1\n")
    g.write("src/main.c", c_file(20, "s"))
    g.write("README", "readme\n")
    g.commit("Initial import\n", date="@86400 +0000")  # 1970-01-02

    g.write("virt/kvm/kvm_main.c", c_file(6) + "int added(void)\n{\n\treturn 0;\n}\n")
    g.write("README", "readme\nmore\n")
    g.commit(
        "kvm: add a function\n\nBody text here.\n\n"
        "Signed-off-by: Ann Author <ann.author@example.com>\n"
        "Acked-by: Bob Builder <BOB@Example.COM>\n"
        "Acked-by: Bob Builder <bob@example.com>\n"
        "Reviewed-by: Jane Doe jane.doe@example.com\n"
        "Tested-by: <tester@example.net>\n"
        "Reported-by: Rep Orter (Kernel Team) <rep@example.org>\n"
        "Cc: <stable@vger.kernel.org> # 5.10+\n"
        "Link: https://lore.kernel.org/r/20200101.1234-1-ann@example.com\n"
        "Signed-off-by: Carl Committer <carl@example.org>\n"
    )
    # rename with edits
    g("mv", "src/main.c", "src/app.c")
    g.write(
        "src/app.c", c_file(20, "s").replace("return 3;", "return 33;").replace("return 7;", "return 77;")
    )
    g.commit("src: rename main.c to app.c\n\nSigned-off-by: Ann Author <ann.author@example.com>\n")
    # binary file, added then modified
    g.write("fw/blob.bin", bytes(range(256)) * 8)
    g.commit("add firmware\n")
    g.write("fw/blob.bin", bytes(range(255, -1, -1)) * 8)
    g.write("arch/x86/kvm/x86.c", c_file(5, "x") + "/* tail */\n")
    g.commit("update firmware and kvm\n\nSigned-off-by: Ann Author <ann.author@example.com>\n")
    # empty commit
    g.commit("empty commit\n\nSigned-off-by: Ann Author <ann.author@example.com>\n")
    # a huge file
    g.write("data/huge.txt", "".join(f"line {i}\n" for i in range(120_000)))
    g.commit("huge file\n")
    # non-UTF-8 author: once with a declared encoding, once as undeclared Latin-1 bytes
    latin_name = "J\xf6rg M\xfcller".encode("latin-1").decode("utf-8", "surrogateescape")
    g.write("README", "readme\nmore\nlatin\n")
    g.commit(
        "Latin-1 m\xe9ssage\n\nSigned-off-by: J\xf6rg M\xfcller <joerg@example.de>\n".encode("latin-1"),
        env={"GIT_AUTHOR_NAME": latin_name},
        config=("-c", "i18n.commitEncoding=ISO-8859-1"),
    )
    g.write("README", "readme\nmore\nlatin\nundeclared\n")
    g.commit("undeclared latin-1 name\n", env={"GIT_AUTHOR_NAME": latin_name, "GIT_AUTHOR_EMAIL": ""})
    # future date and odd time zones
    g.write("include/linux/kvm_host.h", "#define KVM 2\n")
    g.commit("future\n", date="@4102444800 +0545")
    g.write("virt/kvm/kvm_main.c", c_file(6) + "int added(void)\n{\n\treturn 1;\n}\n")
    g.commit("minus nine thirty\n", env={"GIT_AUTHOR_DATE": "@1700000000 -0930"})
    # mode change, deletion, no newline at end, CRLF, symlink
    os.chmod(path / "arch/x86/mm/init.c", 0o755)
    g.write("include/linux/kvm_para.h", "no newline")
    g.commit("mode change and a header without newline\n")
    g.write("include/linux/kvm_para.h", "no newline, still")
    g("rm", "-q", "include/linux/other.h")
    g.write("win/crlf.txt", "a\r\nb\r\nc\r\n")
    os.symlink("../README", path / "win/link")
    g.commit("delete, crlf and symlink\n")
    # a side branch and a merge, both touching the scope
    g("checkout", "-q", "-b", "side")
    g.write("arch/arm64/kvm/arm.c", c_file(3, "a") + "/* side */\n")
    g.commit("arm64: side change\n\nSigned-off-by: Sid Side <sid@example.com>\n")
    g("checkout", "-q", "main")
    g.write("virt/kvm/kvm_main.c", c_file(7))
    g.commit("kvm: main change\n")
    g("merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side")
    # a trailer zoo: continuation lines, cherry-pick line, non-trailer lines
    g.write("README", "trailers\n")
    g.commit(
        "Trailer zoo\n\nSome body.\n\n"
        "Signed-off-by: A One <a1@example.com>\n"
        "this line is not a trailer\n"
        'Fixes: 0123456789ab ("a subject\n'
        '  continued on the next line")\n'
        "(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)\n"
        "Signed-off-by: B Two <b2@example.com>\n"
    )
    g.write("README", "trailers 2\n")
    g.commit("Not trailers\n\nJust: a paragraph\nof ordinary text\nwith a colon.\n")
    g.write("README", "trailers 3\n")
    g.commit("With patch divider\n\nAcked-by: X <x@example.com>\n---\nnotes: here\n")
    g.write("README", "trailers 4\n")
    g.commit("Only title: Signed-off-by: Nope <n@example.com>\n")
    # a submodule entry
    sub_sha = g.text("rev-parse", "HEAD~1").strip()
    g("update-index", "--add", "--cacheinfo", f"160000,{sub_sha},vendor/sub")
    g("commit", "-q", "-m", "add submodule", env={"GIT_AUTHOR_DATE": "@1700003600 +0000"})
    # indent-heuristic sensitive change
    g.write(
        "arch/x86/kvm/x86.c",
        c_file(5, "x").replace("int f2x(int x)", "int new_fn(int y)\n{\n\treturn y;\n}\n\nint f2x(int x)"),
    )
    g.commit("x86: insert a function\n")
    # a file moved out of the scope and one moved into it, with edits
    (path / "lib").mkdir()
    g("mv", "arch/arm64/kvm/arm.c", "lib/arm.c")
    g.commit("move arm.c out of kvm\n")
    g("mv", "lib/arm.c", "virt/arm.c")
    g.write("virt/arm.c", (path / "virt/arm.c").read_text() + "/* back */\n")
    g.commit("move arm.c into virt\n")
    return g


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Git:
    base = tmp_path_factory.mktemp("zoo")
    return build_zoo(base / "repo", base)
