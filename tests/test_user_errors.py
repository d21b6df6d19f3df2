"""Hostile or mistaken user files: alias bombs, files that are not identity files, repository
paths inside other work trees. Each fails fast with one line that names the file (and line), in
bounded time and memory, and never quotes the file's content."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pygit2
import pytest
import yaml

from core.config import ConfigError, RepositoryConfig, load_config
from core.errors import CommstatsError
from core.yamlfile import MAX_ALIASED_NODES, AliasBombError, safe_load
from extractors.git.repository import GitSourceError, open_repository
from extractors.identities.files import read_affiliations, read_aliases
from extractors.identities.gitdm import read_gitdm
from extractors.identities.mailmap import IdentityFileError, read_mailmap
from extractors.mail.errors import SourceError

DEPTH = 9  # 9 aliases of the level below, 9 levels deep: 9**9 = 387,420,489 leaves


def alias_bomb_aliases() -> str:
    """An aliases file whose last person's `addresses` is a 9-deep alias bomb (line DEPTH + 3)."""
    lines = [
        "people:",
        '  - addresses: &a0 ["x@example.org", "x@example.org", "x@example.org",'
        ' "x@example.org", "x@example.org", "x@example.org", "x@example.org", "x@example.org",'
        ' "x@example.org"]',
    ]
    for level in range(1, DEPTH):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"  - addresses: &a{level} [{refs}]")
    lines.append(f"  - addresses: *a{DEPTH - 1}")
    return "\n".join(lines) + "\n"


def bomb_line() -> int:
    """The line of the level whose aliases first expand past the bound, counted independently:
    level 0 (line 2) is a 9-item list (10 nodes), level k (line k + 2) has 9 aliases of level k-1."""
    size, aliased = 10, 0
    for level in range(1, DEPTH):
        aliased += 9 * size
        if aliased > MAX_ALIASED_NODES:
            return level + 2
        size = 1 + 9 * size
    raise AssertionError("the bomb stays under the bound")


def test_bomb_is_the_bomb_it_claims_to_be():
    # the document is what the test says: PyYAML (sharing aliased objects) builds it cheaply,
    # and its last entry stands for 9**9 addresses once expanded
    data = yaml.safe_load(alias_bomb_aliases())
    node, width = data["people"][-1]["addresses"], 1
    while isinstance(node, list):
        width *= len(node)
        node = node[0]
    assert width == 9**9 == 387_420_489
    assert bomb_line() == 6  # 10 + 90 + 819 + 7380 nodes are under 10,000; the next 9 * 7381 not


def _measured(code: str) -> tuple[str, float, int]:
    """Run `code` in a fresh interpreter: (its stdout, seconds, peak RSS of that child in KiB)."""
    probe = textwrap.dedent(
        f"""
        import resource, subprocess, sys, time
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", {code!r}], capture_output=True, text=True)
        took = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(repr((out.stdout + out.stderr, took, peak)))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    return eval(done.stdout)  # noqa: S307 - our own repr of a tuple


def test_alias_bomb_in_an_aliases_file_is_cut_off_in_bounded_time_and_memory(tmp_path):
    bomb = tmp_path / "aliases.yaml"
    bomb.write_text(alias_bomb_aliases())
    out, seconds, peak_kib = _measured(
        "from pathlib import Path\n"
        "from extractors.identities.files import read_aliases\n"
        "from extractors.identities.mailmap import IdentityFileError\n"
        f"try:\n    read_aliases(Path({str(bomb)!r}))\nexcept IdentityFileError as exc:\n    print(exc)\n"
    )
    assert out.splitlines() == [
        f"{bomb}: not valid YAML at line {bomb_line()}: aliases expand to more than {MAX_ALIASED_NODES:,} nodes (alias bomb?)"
    ]
    assert seconds < 5
    assert peak_kib < 200 * 1024  # the interpreter with pydantic and yaml is ~60 MiB; 3 GB unbounded


def test_alias_bomb_in_the_config_fails_the_run_with_one_line(tmp_path):
    config = tmp_path / "communities.yaml"
    refs = lambda n: "[" + ", ".join([f"*l{n}"] * 9) + "]"  # noqa: E731
    body = ["lists:", "  - &l0 [x, x, x, x, x, x, x, x, x]"]
    body += [f"  - &l{n} {refs(n - 1)}" for n in range(1, DEPTH)]
    config.write_text("\n".join(body) + "\n")
    commstats = Path(sys.executable).with_name("commstats")
    out, seconds, peak_kib = _measured(
        f"import subprocess, sys\n"
        f"p = subprocess.run([{str(commstats)!r}, 'run', '--config', {str(config)!r}], capture_output=True, text=True)\n"
        f"print(p.returncode)\nprint(p.stdout + p.stderr, end='')\n"
    )
    assert out.splitlines() == [
        "2",
        f"commstats: {config}: not valid YAML at line {bomb_line()}: aliases expand to more than "
        f"{MAX_ALIASED_NODES:,} nodes (alias bomb?)",
    ]
    assert seconds < 5 and peak_kib < 200 * 1024


def test_alias_bound_counts_expanded_nodes_and_refuses_self_reference():
    # 9 aliases of a 9-item list: 9 * 10 = 90 nodes reached through aliases, well under the bound
    small = "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*x"] * 9) + "]\n"
    assert safe_load(small)["b"] == [list(range(1, 10))] * 9
    # (MAX // 10) + 1 aliases of a 9-item list (10 nodes each) are one alias too many
    n = MAX_ALIASED_NODES // 10
    ok = "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*x"] * n) + "]\n"
    assert len(safe_load(ok)["b"]) == n
    with pytest.raises(AliasBombError):
        safe_load(ok.replace("]\n", ", *x]\n").replace("9, *x]", "9]"))
    with pytest.raises(AliasBombError, match="contains it") as info:
        safe_load("a: &x [1, *x]\n")
    assert info.value.problem_mark.line == 0


def test_merge_key_bomb_is_refused():
    lines = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9}"]
    for n in range(1, DEPTH):
        lines.append(f"m{n}: &m{n} {{<<: [" + ", ".join([f"*m{n - 1}"] * 9) + "]}")
    with pytest.raises(AliasBombError):
        safe_load("\n".join(lines) + "\n")


def test_etc_passwd_as_identity_files_names_file_and_line_only(tmp_path):
    secret = "root:x:0:0:SECRET-FIELD:/root:/bin/bash\nbin:x:1:1::/:/sbin/nologin\n"
    passwd = tmp_path / "passwd"
    passwd.write_text(secret)
    with pytest.raises(IdentityFileError) as mm:
        read_mailmap(passwd)
    assert str(mm.value) == f"{passwd}:1: expected 'Name <address>' entries"
    bad_address = tmp_path / "mailmap"
    bad_address.write_text("Jane <jane@example.org>\nJane <SECRET-FIELD>\n")
    with pytest.raises(IdentityFileError) as addr:
        read_mailmap(bad_address)
    assert str(addr.value) == f"{bad_address}:2: not an e-mail address between < and >"
    with pytest.raises(IdentityFileError) as gd:
        read_gitdm(passwd)
    assert str(gd.value) == f"{passwd}:1: expected '[user@]domain  Employer  [< yyyy-mm-dd]'"
    dated = tmp_path / "gitdm"
    dated.write_text("example.org  Acme < 2020-02-31\n")
    with pytest.raises(IdentityFileError) as bad_date:
        read_gitdm(dated)
    assert str(bad_date.value) == f"{dated}:1: bad date (want yyyy-mm-dd)"
    # YAML identity files: a mapping expected, the content never quoted
    with pytest.raises(IdentityFileError) as al:
        read_aliases(passwd)
    assert "SECRET" not in str(al.value) and str(al.value).startswith(f"{passwd}: ")
    huge = tmp_path / "aff.yaml"
    huge.write_text(
        "affiliations:\n  - domain: example.org\n    organization: Acme\n    bogus" + "Z" * 100_000 + ": 1\n"
    )
    with pytest.raises(IdentityFileError) as af:
        read_affiliations(huge)
    assert len(str(af.value)) < len(str(huge)) + 200 and "\n" not in str(af.value)


def test_repository_path_inside_another_work_tree_is_not_the_enclosing_repository(tmp_path):
    outer = pygit2.init_repository(str(tmp_path / "outer"))
    assert not outer.is_bare
    inside = tmp_path / "outer" / "vendor" / "lib"
    inside.mkdir(parents=True)
    cfg = RepositoryConfig(name="lib", path=inside)
    with pytest.raises(GitSourceError) as info:
        open_repository(cfg, tmp_path / "cache")
    assert str(info.value).startswith(f"git repository 'lib': {inside} is not a git repository (")
    assert "\n" not in str(info.value)
    # the work tree's own root still opens, as does its .git directory
    for path in (tmp_path / "outer", tmp_path / "outer" / ".git"):
        repo = open_repository(RepositoryConfig(name="outer", path=path), tmp_path / "cache")
        assert Path(repo.path) == tmp_path / "outer" / ".git"


def test_user_errors_share_one_base_class():
    from core.partitions import UnknownSource

    for cls in (ConfigError, IdentityFileError, SourceError, GitSourceError, UnknownSource):
        assert issubclass(cls, CommstatsError), cls


def test_long_config_values_are_clipped_in_the_message(tmp_path):
    config = tmp_path / "communities.yaml"
    config.write_text(
        "projects:\n  p:\n    mailing_lists:\n      - name: l\n        kind: " + "q" * 50_000 + "\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert len(str(info.value)) < len(str(config)) + 500 and "\n" not in str(info.value)


class _Context:
    """What _load_source reads of an asset context: the run's partition keys and a logger."""

    partition_keys = ("p/source",)

    class log:  # noqa: N801 - mimics context.log
        @staticmethod
        def info(_message: str) -> None:
            pass


def test_assets_turn_user_errors_into_one_line_and_let_bugs_through():
    import dagster as dg

    from orchestration.defs.ingest import _load_source

    def unreadable(_key, _progress):
        raise SourceError("mailing list 'source': path not found: /nowhere\nsecond line")

    with pytest.raises(dg.Failure) as failure:
        list(_load_source(_Context(), ("t",), "mailing list", "messages", unreadable))
    assert (
        failure.value.description == "mailing list p/source: mailing list 'source': path not found: /nowhere"
    )
    assert failure.value.__cause__ is None and failure.value.__suppress_context__

    def bug(_key, _progress):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        list(_load_source(_Context(), ("t",), "mailing list", "messages", bug))
