"""The communities config file (communities.yaml), parsed into typed models.

A bad file fails at load with one line naming the file, the key and what was expected.
Relative paths in the file are relative to the file itself.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import ConfigError, clip, one_line
from core.yamlfile import describe, safe_load

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "communities.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


MailKind = Literal["mbox", "maildir", "public-inbox", "http-archive", "nntp"]

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _list_address(value: str) -> str:
    address = value.strip().lower()
    if not _ADDRESS.match(address):
        raise ValueError(f"'{value}' is not an e-mail address (want e.g. kvm@vger.kernel.org)")
    return address


ListAddress = Annotated[str, AfterValidator(_list_address)]


MiB = 1 << 20


def _not_bool(value: Any) -> Any:
    # YAML's `yes`/`true` is a bool, which pydantic would otherwise take as the number 1
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


Count = Annotated[PositiveInt, BeforeValidator(_not_bool)]
Seconds = Annotated[PositiveFloat, BeforeValidator(_not_bool)]
Wait = Annotated[NonNegativeFloat, BeforeValidator(_not_bool)]


class _SourceOptions(_Strict):
    """Options every kind of list takes. Each kind's model names its `kind`, so the options are a
    union discriminated by the list's kind and a misspelt or foreign option fails at load."""

    # a message larger than this is quarantined (message_too_large) without being held
    max_message_bytes: Count = 64 * MiB
    # a compressed archive yielding more than max(floor, ratio x its size) is a decompression bomb
    max_expansion_ratio: Count = 200
    expansion_floor_bytes: Count = 256 * MiB
    # parser processes; None: $COMMSTATS_MAIL_WORKERS, else up to two
    parse_workers: Count | None = None


class MboxOptions(_SourceOptions):
    kind: Literal["mbox"] = "mbox"
    escaping: Literal["mboxrd", "mboxo", "none"] = "mboxrd"


class MaildirOptions(_SourceOptions):
    kind: Literal["maildir"] = "maildir"


class PublicInboxOptions(_SourceOptions):
    kind: Literal["public-inbox"] = "public-inbox"
    full_refresh: bool = False  # ignore the stored cursors and replace the list's rows


class HttpArchiveOptions(_SourceOptions):
    kind: Literal["http-archive"] = "http-archive"
    timeout: Seconds = 60.0  # seconds without progress (connect, read) before an attempt fails
    retries: Count = 5  # attempts per month
    backoff: Wait = 2.0  # first wait between attempts, doubling up to max_backoff
    max_backoff: Wait = 120.0
    closed_grace_hours: Wait = 24.0  # how long after a month's end it may still change


class NntpOptions(_SourceOptions):
    kind: Literal["nntp"] = "nntp"
    timeout: Seconds = 60.0  # socket timeout, seconds
    retries: Count = 4  # connection attempts per run (each reconnect continues)
    backoff: Wait = 2.0  # first wait before reconnecting, doubling
    batch: Count = 10_000  # article numbers per LISTGROUP range
    full_refresh: bool = False


MailOptions = Annotated[
    MboxOptions | MaildirOptions | PublicInboxOptions | HttpArchiveOptions | NntpOptions,
    Field(discriminator="kind"),
]
_KIND_TAGS = frozenset(MailKind.__args__)  # type: ignore[attr-defined]


class MailingListConfig(_Strict):
    name: str = Field(min_length=1)
    kind: MailKind = "mbox"
    path: Path | None = None  # file, directory or glob (mbox, maildir, public-inbox)
    url: str | None = None  # public-inbox clone URL, http-archive URL template, nntp://host/group
    since: date | None = None  # http-archive / nntp: first month or day to read
    until: date | None = None
    options: MailOptions = Field(default_factory=MboxOptions)
    # the list's own posting addresses (its -bounces, -owner and -request variants are derived):
    # never a person, and a From rewritten to one of them for DMARC is not the sender
    addresses: list[ListAddress] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _options_of_kind(cls, data: Any) -> Any:
        # the options' model is chosen by the list's kind (given or defaulted here)
        if isinstance(data, dict):
            options = data.get("options")
            if options is None or isinstance(options, dict):
                kind = data.get("kind", "mbox")
                data = {**data, "options": {**(options or {}), "kind": kind}}
        return data

    @model_validator(mode="after")
    def _one_location(self) -> MailingListConfig:
        if self.path is None and self.url is None:
            raise ValueError("needs either 'path' or 'url'")
        if self.kind in ("mbox", "maildir") and self.path is None:
            raise ValueError(f"kind '{self.kind}' needs 'path'")
        if self.kind in ("http-archive", "nntp") and self.url is None:
            raise ValueError(f"kind '{self.kind}' needs 'url'")
        return self


class RepositoryConfig(_Strict):
    name: str = Field(min_length=1)
    path: Path | None = None
    url: str | None = None
    branch: str | None = None  # default: the remote's default branch (HEAD)
    paths: list[str] = Field(default_factory=list)  # directories or globs; empty = whole repository

    @model_validator(mode="after")
    def _one_location(self) -> RepositoryConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("needs exactly one of 'path' or 'url'")
        return self


class ProjectConfig(_Strict):
    title: str | None = None
    mailing_lists: list[MailingListConfig] = Field(default_factory=list)
    repositories: list[RepositoryConfig] = Field(default_factory=list)
    since: date | None = None
    until: date | None = None
    period_date: Literal["author", "committer"] | None = None  # overrides the top-level setting


class IdentitiesConfig(_Strict):
    mailmap: list[Path] = Field(default_factory=list)
    aliases: list[Path] = Field(default_factory=list)
    affiliations: list[Path] = Field(default_factory=list)
    gitdm_maps: list[Path] = Field(default_factory=list)


_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
# DuckLake catalogs in another database: `postgres:<libpq string>`, `sqlite:<file>`, `mysql:...`
_CATALOG_KINDS = ("postgres:", "sqlite:", "mysql:")
_DURATION = re.compile(r"^(\d+)\s*(minutes?|hours?|days?|weeks?)$")


class ObjectStoreConfig(_Strict):
    """Where an `s3://` data path lives: AWS S3 by default, or any S3-compatible store (MinIO,
    Ceph, R2, ...) at `endpoint`. The credentials never sit in the config file: they are read from
    the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)."""

    endpoint: str | None = None  # host[:port], e.g. minio.internal:9000; default: AWS
    region: str = "us-east-1"
    url_style: Literal["vhost", "path"] = "vhost"  # S3-compatible stores usually want `path`
    use_ssl: bool = True

    @field_validator("endpoint", "region")
    @classmethod
    def _plain(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or _URL.match(v) or re.search(r"[\s'/]", v.strip())):
            raise ValueError("must be a host[:port] (or region name) without a scheme, slash or quote")
        return v.strip() if v is not None else None


class DuckLakeConfig(_Strict):
    """A DuckLake warehouse: the catalog in a SQL database, the data in Parquet files.

    `catalog` is `postgres:<libpq connection string>` (what several machines share), `sqlite:<file>`
    or a local DuckDB catalog file; `data_path` a directory or an `s3://bucket/prefix/` URL (with
    `s3:` saying which store). The local state of this machine's runs (dbt's files, the Dagster
    instance) goes to `state_dir`, by default `<cache_dir>/ducklake`.
    """

    catalog: str = Field(min_length=1)
    data_path: str = Field(min_length=1)
    s3: ObjectStoreConfig | None = None
    state_dir: Path | None = None
    # how long `commstats sql --as-of` can look back: the snapshots complete builds published
    # within it are kept, every other one is expired after a build and its files deleted
    keep_snapshots: str = "90 days"

    @field_validator("keep_snapshots", mode="before")
    @classmethod
    def _a_duration(cls, v: object) -> str:
        text = str(v).strip().lower()
        if text != "all" and not _DURATION.match(text):
            raise ValueError(
                "must be a duration such as '90 days', '12 weeks' or '0 days' (keep only the "
                "last build's snapshot), or 'all' (expire nothing)"
            )
        return text

    def retention(self) -> timedelta | None:
        """How long published snapshots are kept; None: every snapshot is kept."""
        match = _DURATION.match(self.keep_snapshots)
        if match is None:
            return None
        number, unit = int(match.group(1)), match.group(2).rstrip("s")
        return timedelta(**{f"{unit}s": number})

    @field_validator("catalog", "data_path")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if "'" in v or "\n" in v:
            raise ValueError("must be one line without a single quote")
        return v.strip()

    @field_validator("data_path")
    @classmethod
    def _a_directory_or_s3(cls, v: str) -> str:
        if _URL.match(v) and not v.lower().startswith("s3://"):
            raise ValueError(
                "must be a directory or an s3:// URL (S3 or an S3-compatible store: "
                "see warehouse.ducklake.s3.endpoint)"
            )
        if v.lower().startswith("s3://") and not re.match(r"^s3://[^/]+", v, re.I):
            raise ValueError("an s3:// URL needs a bucket: s3://bucket/prefix/")
        return v

    @model_validator(mode="after")
    def _store_settings_for_a_url(self) -> DuckLakeConfig:
        if self.s3 is not None and self.data_is_local():
            raise ValueError("'s3' is for an s3:// data_path; this data_path is a directory")
        if not self.data_is_local():
            if self.s3 is None:
                self.s3 = ObjectStoreConfig()
            if not self.data_path.endswith("/"):
                self.data_path += "/"  # DuckLake writes under the prefix, never beside it
        return self

    def catalog_is_file(self) -> bool:
        return not self.catalog.startswith(_CATALOG_KINDS)

    def data_is_local(self) -> bool:
        return not _URL.match(self.data_path)

    def describe(self) -> str:
        """For messages: the catalog without a password."""
        catalog = re.sub(r"(password\s*=\s*)\S+", r"\1***", self.catalog)
        return f"DuckLake {catalog} (data {self.data_path})"


class WarehouseTarget(_Strict):
    """`warehouse:` as a mapping: the one kind it takes so far is `ducklake:`."""

    ducklake: DuckLakeConfig


def _warehouse_kind(value: Any) -> str:
    return "lake" if isinstance(value, dict | WarehouseTarget) else "file"


# a DuckDB file (the default), or a DuckLake: `warehouse: {ducklake: {catalog: ..., data_path: ...}}`;
# told apart by their shape, so an error names the keys of the one meant
WarehouseSetting = Annotated[
    Annotated[Path, Tag("file")] | Annotated[WarehouseTarget, Tag("lake")], Discriminator(_warehouse_kind)
]


class CommunitiesConfig(_Strict):
    warehouse: WarehouseSetting = Path("data/warehouse.duckdb")
    output_dir: Path = Path("data/output")
    cache_dir: Path = Path("data/cache")  # clones of remote repositories and archives
    period_date: Literal["author", "committer"] = "author"
    projects: dict[str, ProjectConfig] = Field(min_length=1)
    identities: IdentitiesConfig = Field(default_factory=IdentitiesConfig)
    source_file: Path | None = None

    @field_validator("projects")
    @classmethod
    def _project_keys(cls, v: dict[str, ProjectConfig]) -> dict[str, ProjectConfig]:
        for key in v:
            if not key.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"project key '{key}' must be letters, digits, '-' or '_'")
        return v

    def resolve_paths(self, base: Path) -> CommunitiesConfig:
        """Make every relative path absolute against `base` (the config file's folder)."""

        def fix(p: Path | None) -> Path | None:
            if p is None:
                return None
            p = Path(os.path.expanduser(str(p)))
            return p if p.is_absolute() else (base / p)

        self.output_dir = fix(self.output_dir)  # type: ignore[assignment]
        self.cache_dir = fix(self.cache_dir)  # type: ignore[assignment]
        if isinstance(self.warehouse, WarehouseTarget):
            lake = self.warehouse.ducklake
            if lake.catalog_is_file():
                lake.catalog = str(fix(Path(lake.catalog)))
            elif lake.catalog.startswith("sqlite:"):
                lake.catalog = "sqlite:" + str(fix(Path(lake.catalog.removeprefix("sqlite:"))))
            if lake.data_is_local():
                lake.data_path = str(fix(Path(lake.data_path))).rstrip("/") + "/"
            lake.state_dir = fix(lake.state_dir) or self.cache_dir / "ducklake"  # type: ignore[operator]
        else:
            self.warehouse = fix(self.warehouse)  # type: ignore[assignment]
        for project in self.projects.values():
            for ml in project.mailing_lists:
                ml.path = fix(ml.path)
            for repo in project.repositories:
                repo.path = fix(repo.path)
        ids = self.identities
        for attr in ("mailmap", "aliases", "affiliations", "gitdm_maps"):
            setattr(ids, attr, [fix(p) for p in getattr(ids, attr)])
        return self


def _user_loc(loc: tuple) -> tuple:
    """The error's location as the user wrote the keys: without pydantic's validator and union
    tags (`options.nntp.batch` -> `options.batch`)."""
    out: list = []
    for part in loc:
        if str(part).startswith("function-"):
            continue
        if out and out[-1] == "options" and part in _KIND_TAGS:
            continue
        if out == ["warehouse"] and part in ("file", "lake"):
            continue
        out.append(part)
    return tuple(out)


_OPTIONS_BY_KIND = {
    m.model_fields["kind"].default: m
    for m in (MboxOptions, MaildirOptions, PublicInboxOptions, HttpArchiveOptions, NntpOptions)
}


def _unknown_key(loc: tuple) -> str:
    """'unknown key', or for an option the options a list of that kind takes."""
    kinds = [p for i, p in enumerate(loc) if i and loc[i - 1] == "options" and p in _KIND_TAGS]
    if not kinds:
        return "unknown key"
    known = ", ".join(sorted(set(_OPTIONS_BY_KIND[kinds[0]].model_fields) - {"kind"}))
    return f"unknown option for a list of kind '{kinds[0]}' (it takes: {known})"


def _key_path(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("COMMSTATS_CONFIG")
    return Path(env).expanduser().resolve() if env else DEFAULT_CONFIG


def load_config(path: str | Path | None = None) -> CommunitiesConfig:
    """Read and validate a config file; raise ConfigError with one clear line on any problem."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.strerror})") from None
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML{describe(exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        cfg = CommunitiesConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _key_path(_user_loc(err["loc"]))
        msg = one_line(err["msg"].removeprefix("Value error, "))
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(err["loc"])
        raise ConfigError(f"{file}: key '{clip(loc)}': {msg}") from None
    cfg.source_file = file
    cfg = cfg.resolve_paths(file.parent)
    env_wh = os.environ.get("COMMSTATS_WAREHOUSE")
    if env_wh:
        cfg.warehouse = Path(env_wh).expanduser().resolve()
    return cfg
