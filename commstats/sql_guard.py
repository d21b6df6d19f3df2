"""Statements `commstats sql` refuses before DuckDB runs them.

The sandbox's settings (commstats/sql.py SANDBOX) leave three ways out on DuckDB 1.4, closed here
from the statement's tokens (DuckDB's own tokenizer, so quoting and comments read as DuckDB reads
them):

- functions and PRAGMA shortcuts that change a setting without honouring `lock_configuration`
  (`call enable_logging(storage = 'file', ...)` even leaves every later statement failing and the
  process aborting at exit): refused with the setting's name, as `SET` is;
- SQL put together at run time, which this check cannot read: `query()` on anything but one string
  literal (a literal is checked as the statement it holds), `json_execute_serialized_sql()`;
- `COPY ... TO` and `EXPORT DATABASE` into the files DuckDB keeps open to the database it opened
  (`allowed_paths`, `allowed_directories`: its WAL, which the next writer would replay, and its
  temporary directory), or to a file name computed at run time. Every other file is refused by
  DuckDB itself.

`INSTALL` and `UPDATE EXTENSIONS` are refused here too, naming the directory they would write (1.4
refuses them at the first parent directory it checks, the home directory).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import duckdb

# a URL as DuckDB keeps it in allowed_directories (`s3:/bucket/...`: one slash) or as written
_URL = re.compile(r"^([a-z][a-z0-9+.-]*):/+(.*)$", re.I | re.S)


def _url(path: str) -> str | None:
    """`scheme://rest` with the scheme in lower case (the one case-blind part), or None for a local
    path (`file://` URLs included, which name local files)."""
    m = _URL.match(path)
    if m is None or m.group(1).lower() == "file":
        return None
    return f"{m.group(1).lower()}://{m.group(2)}"


# the option DuckDB names when `SET` is refused, for each shortcut that bypasses the lock
_SETTING_OF: dict[str, str] = {
    "enable_logging": "enable_logging",
    "disable_logging": "enable_logging",
    "enable_profiling": "enable_profiling",
    "enable_profile": "enable_profiling",
    "disable_profiling": "enable_profiling",
    "disable_profile": "enable_profiling",
    "enable_checkpoint_on_shutdown": "checkpoint_on_shutdown",
    "disable_checkpoint_on_shutdown": "checkpoint_on_shutdown",
    "enable_optimizer": "enable_optimizer",
    "disable_optimizer": "enable_optimizer",
    "enable_progress_bar": "enable_progress_bar",
    "disable_progress_bar": "enable_progress_bar",
    "enable_print_progress_bar": "enable_progress_bar_print",
    "disable_print_progress_bar": "enable_progress_bar_print",
}
# query('...') nested deeper than this is refused rather than followed
_MAX_NESTING = 8

# a token's text runs on to the next token, over blanks and comments: read only the name itself
_IDENTIFIER = re.compile(r'"(?:[^"]|"")*"|[^\W\d][\w$]*')
_WORD = re.compile(r"[A-Za-z_]+")
_TK = duckdb.token_type


@dataclass(frozen=True)
class _Token:
    kind: duckdb.token_type
    text: str  # from the token's start to the next token's (trailing blanks and comments included)

    @property
    def word(self) -> str:
        """An identifier or keyword unquoted, as written."""
        found = (_IDENTIFIER if self.kind == _TK.identifier else _WORD).match(self.text)
        word = found.group(0) if found else self.text.strip()
        return word[1:-1].replace('""', '"') if word.startswith('"') else word

    @property
    def name(self) -> str:
        """An identifier or keyword as DuckDB resolves names: case folded."""
        return self.word.lower()

    def is_op(self, char: str | tuple[str, ...]) -> bool:
        return self.kind == _TK.operator and self.text.startswith(char)


def _tokens(sql: str) -> list[_Token]:
    starts = duckdb.tokenize(sql)
    ends = [pos for pos, _ in starts[1:]] + [len(sql)]
    return [_Token(kind, sql[pos:end]) for (pos, kind), end in zip(starts, ends, strict=True)]


def _refused(detail: str) -> duckdb.PermissionException:
    return duckdb.PermissionException(f"Permission Error: {detail}")


@dataclass(frozen=True)
class StatementGuard:
    """Refuses what the sandbox's settings let through on the connection it was made for."""

    con: duckdb.DuckDBPyConnection
    own_files: tuple[str, ...]  # the opened database's files and directories DuckDB still allows
    install_dir: str  # where INSTALL would put an extension

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> StatementGuard:
        paths, directories, extensions, home = con.execute(
            "select current_setting('allowed_paths'), current_setting('allowed_directories'), "
            "current_setting('extension_directory'), current_setting('home_directory')"
        ).fetchone()
        (version,) = con.execute("select library_version from pragma_version()").fetchone()
        (platform,) = con.execute("select platform from pragma_platform()").fetchone()
        base = extensions or os.path.join(home or os.path.expanduser("~"), ".duckdb", "extensions")
        # a lake's s3:// prefix is a URL, not a local path to make absolute
        own = tuple(_url(p) or os.path.abspath(p) for p in [*paths, *directories])
        return cls(con, own, os.path.join(base, version, platform))

    def check(self, sql: str, nesting: int = 0) -> None:
        """Raises the DuckDB error the statement gets refused with; returns when it may run."""
        for statement in duckdb.extract_statements(sql):
            self._check_statement(_tokens(statement.query), nesting)

    def _check_statement(self, tokens: list[_Token], nesting: int) -> None:
        words = [t.name for t in tokens[:2] if t.kind == _TK.keyword]
        if words[:1] == ["install"] or words in (["force", "install"], ["update", "extensions"]):
            raise _refused(f'Cannot access directory "{self.install_dir}"')
        # a secret is kept by the secret manager, persistent ones in files of the home directory;
        # DuckDB locks its settings only once a secret was used, which attaching a DuckLake does
        leading = [t.name for t in tokens[:6] if t.kind in (_TK.keyword, _TK.identifier)]
        if leading[:1] in (["create"], ["drop"]):
            kind = [w for w in leading[1:] if w not in ("or", "replace", "persistent", "temporary", "temp")]
            if kind[:1] == ["secret"]:
                raise _refused("CREATE and DROP SECRET (secrets are kept outside the warehouse)")
        for i, token in enumerate(tokens):
            calls = i + 1 < len(tokens) and tokens[i + 1].is_op("(")
            if token.kind == _TK.identifier:
                name = token.name
                if name in _SETTING_OF:
                    raise duckdb.InvalidInputException(
                        f'Invalid Input Error: Cannot change configuration option "{_SETTING_OF[name]}" '
                        "- the configuration has been locked"
                    )
                if name == "json_execute_serialized_sql" and calls:
                    raise _refused("json_execute_serialized_sql() (serialized SQL is not checked)")
                if name == "query" and calls:
                    self._check_query_argument(tokens[i + 2 : i + 4], nesting)
            elif token.kind == _TK.keyword and token.name == "copy":
                self._check_copy_target(tokens[i + 1 :])
            elif token.kind == _TK.keyword and token.name == "export":
                self._check_export_directory(tokens[i + 1 :])

    def _literal(self, token: _Token) -> str:
        # a string constant evaluates to itself: DuckDB undoes its quoting ('', E'', $$)
        return str(self.con.execute(f"select {token.text}\n").fetchone()[0])

    def _check_query_argument(self, argument: list[_Token], nesting: int) -> None:
        if len(argument) < 2 or argument[0].kind != _TK.string_const or not argument[1].is_op(")"):
            raise _refused("query() on SQL computed at run time (give it one string literal)")
        if nesting >= _MAX_NESTING:
            raise _refused(f"query() nested more than {_MAX_NESTING} deep")
        self.check(self._literal(argument[0]), nesting + 1)

    def _check_copy_target(self, rest: list[_Token]) -> None:
        depth = 0
        for i, token in enumerate(rest):
            if token.is_op("("):
                depth += 1
            elif token.is_op(")"):
                depth -= 1
                if depth < 0:  # the COPY was inside parentheses that end here
                    return
            elif token.is_op(";") and depth == 0:
                return
            elif depth == 0 and token.kind == _TK.keyword and token.name == "to":
                target = rest[i + 1] if i + 1 < len(rest) else None
                after = rest[i + 2] if i + 2 < len(rest) else None
                if target is None or target.kind == _TK.keyword:
                    return  # DuckDB's own parser answers (STDOUT, or a syntax error)
                plain = target.kind in (_TK.string_const, _TK.identifier)
                continued = after is not None and after.kind == _TK.operator and not after.is_op(("(", ";"))
                if not plain or continued:
                    raise _refused("COPY ... TO a file name computed at run time")
                path = self._literal(target) if target.kind == _TK.string_const else target.word
                if self._is_own_file(path):
                    raise _refused(f'Cannot access file "{path}"')
                return

    def _check_export_directory(self, rest: list[_Token]) -> None:
        for token in rest:
            if token.is_op(";"):
                return
            if token.kind == _TK.string_const:
                path = self._literal(token)
                if self._is_own_file(path):
                    raise _refused(f'Cannot access directory "{path}"')
                return

    def _is_own_file(self, path: str) -> bool:
        url = _url(path)
        if url is not None:
            # an object store has keys, not directories: `s3://b/p/../x` is the key it spells
            return any(url.startswith(own) for own in self.own_files if _url(own) is not None)
        if path.startswith("file://"):
            path = path.removeprefix("file://")
        full = os.path.join(os.getcwd(), os.path.expanduser(path))
        for candidate in {os.path.normpath(full), os.path.realpath(full)}:
            for own in self.own_files:
                if candidate in (own, os.path.realpath(own)) or candidate.startswith(own + os.sep):
                    return True
        return False
