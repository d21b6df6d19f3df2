"""A list's `options:` are typed per kind of source: a misspelt option, an option of another kind
or a value of the wrong type fails when the config is loaded, with one line naming it."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from core.config import (
    ConfigError,
    HttpArchiveOptions,
    MboxOptions,
    NntpOptions,
    PublicInboxOptions,
    load_config,
)
from extractors.mail.mbox import ESCAPINGS

LOCATION = {
    "mbox": "path: list.mbox",
    "maildir": "path: maildir/",
    "public-inbox": "path: inbox.git",
    "http-archive": "url: https://lists.example.org/pipermail/devel/{year}-{month_name}.txt.gz",
    "nntp": "url: nntp://news.example.org/devel",
}


def _config(tmp_path: Path, kind: str, options: str) -> Path:
    path = tmp_path / "communities.yaml"
    path.write_text(
        "projects:\n  p:\n    mailing_lists:\n"
        f"      - name: devel\n        kind: {kind}\n        {LOCATION[kind]}\n"
        f"        options: {options}\n"
    )
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("kind", "options", "key", "why"),
    [
        ("nntp", "{tiemout: 5}", "tiemout", "unknown option for a list of kind 'nntp'"),
        ("mbox", "{timeout: 5}", "timeout", "unknown option for a list of kind 'mbox'"),
        ("http-archive", "{escaping: mboxo}", "escaping", "unknown option for a list of kind 'http-archive'"),
        ("maildir", "{full_refresh: true}", "full_refresh", "unknown option for a list of kind 'maildir'"),
        ("mbox", "{escaping: mboxcl2}", "escaping", "Input should be 'mboxrd', 'mboxo' or 'none'"),
        ("nntp", "{batch: 0}", "batch", "Input should be greater than 0"),
        ("nntp", "{retries: yes}", "retries", "must be a number, not true/false"),
        ("http-archive", "{backoff: -1}", "backoff", "Input should be greater than or equal to 0"),
        ("public-inbox", "{parse_workers: two}", "parse_workers", "Input should be a valid integer"),
    ],
)
def test_a_wrong_option_fails_at_load_naming_it(tmp_path, kind, options, key, why) -> None:
    path = _config(tmp_path, kind, options)
    message = _error(path)
    assert message.startswith(f"{path}: key 'projects.p.mailing_lists.0.options.{key}': {why}"), message


def test_an_unknown_option_lists_what_the_kind_takes(tmp_path) -> None:
    message = _error(_config(tmp_path, "nntp", "{tiemout: 5}"))
    assert message.endswith(
        "(it takes: backoff, batch, expansion_floor_bytes, full_refresh, max_expansion_ratio, "
        "max_message_bytes, parse_workers, retries, timeout)"
    )


def test_options_are_read_typed_with_the_kind_defaults(tmp_path) -> None:
    cfg = load_config(_config(tmp_path, "nntp", "{timeout: 5, batch: '500'}"))
    options = cfg.projects["p"].mailing_lists[0].options
    assert isinstance(options, NntpOptions)
    assert (options.timeout, options.batch, options.retries, options.backoff) == (5.0, 500, 4, 2.0)
    assert options.full_refresh is False and options.parse_workers is None
    cfg = load_config(_config(tmp_path, "http-archive", "{}"))
    options = cfg.projects["p"].mailing_lists[0].options
    assert isinstance(options, HttpArchiveOptions)
    assert (options.timeout, options.retries, options.backoff, options.max_backoff) == (60.0, 5, 2.0, 120.0)
    assert options.closed_grace_hours == 24.0
    cfg = load_config(_config(tmp_path, "public-inbox", "{full_refresh: true, parse_workers: 1}"))
    options = cfg.projects["p"].mailing_lists[0].options
    assert isinstance(options, PublicInboxOptions)
    assert options.full_refresh is True and options.parse_workers == 1


def test_a_list_without_kind_or_options_is_an_mbox_with_defaults(tmp_path) -> None:
    path = tmp_path / "communities.yaml"
    path.write_text("projects:\n  p:\n    mailing_lists:\n      - name: devel\n        path: list.mbox\n")
    options = load_config(path).projects["p"].mailing_lists[0].options
    assert isinstance(options, MboxOptions)
    assert options.escaping == "mboxrd"
    assert (options.max_message_bytes, options.max_expansion_ratio, options.expansion_floor_bytes) == (
        64 << 20,
        200,
        256 << 20,
    )


def test_the_escapings_the_config_takes_are_the_ones_the_reader_knows() -> None:
    assert set(get_args(MboxOptions.model_fields["escaping"].annotation)) == set(ESCAPINGS)
