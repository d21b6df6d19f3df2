"""Source partition keys ("<project>/<list>", "<project>/<repository>") and their lookup.

Pure functions over the config, shared by the Dagster definitions, `commstats run` and the tests.
"""

from __future__ import annotations

from core.config import CommunitiesConfig, MailingListConfig, ProjectConfig, RepositoryConfig
from core.errors import CommstatsError


def mail_partition_keys(cfg: CommunitiesConfig) -> list[str]:
    return [f"{key}/{lst.name}" for key, project in cfg.projects.items() for lst in project.mailing_lists]


def git_partition_keys(cfg: CommunitiesConfig) -> list[str]:
    return [f"{key}/{repo.name}" for key, project in cfg.projects.items() for repo in project.repositories]


class UnknownSource(CommstatsError, KeyError):
    """A partition key that names no source of the current config (it was removed or renamed)."""

    def __str__(self) -> str:
        return f"source '{self.args[0]}' is not in the config (reload the code location after editing it)"


def _split(partition_key: str) -> tuple[str, str]:
    project, sep, name = partition_key.partition("/")
    if not sep:
        raise UnknownSource(partition_key)
    return project, name


def mailing_list(cfg: CommunitiesConfig, partition_key: str) -> tuple[str, ProjectConfig, MailingListConfig]:
    """(project key, project, list) named by a mail partition key."""
    project_key, name = _split(partition_key)
    project = cfg.projects.get(project_key)
    for lst in project.mailing_lists if project else []:
        if lst.name == name:
            return project_key, project, lst
    raise UnknownSource(partition_key)


def repository(cfg: CommunitiesConfig, partition_key: str) -> tuple[str, ProjectConfig, RepositoryConfig]:
    """(project key, project, repository) named by a git partition key."""
    project_key, name = _split(partition_key)
    project = cfg.projects.get(project_key)
    for repo in project.repositories if project else []:
        if repo.name == name:
            return project_key, project, repo
    raise UnknownSource(partition_key)
