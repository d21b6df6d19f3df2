"""The YAML identity files of communities.yaml: aliases and dated affiliations.

aliases.yaml::

    people:
      - name: Jane Doe
        addresses: [jane@work.example, jane.doe@gmail.com]   # the first is the primary one

affiliations.yaml::

    affiliations:
      - address: jdoe@gmail.com        # or  domain: example.com  (sub-domains included)
        organization: Intel
        until: 2021-06-30              # from / until are optional, inclusive ISO dates
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import clip, one_line
from core.yamlfile import describe, safe_load
from extractors.identities.mailmap import IdentityFileError


class AliasPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    addresses: list[str] = Field(min_length=1)


class AliasFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[AliasPerson] = Field(default_factory=list)


class Affiliation(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    address: str | None = None
    domain: str | None = None
    organization: str = Field(min_length=1)
    valid_from: date | None = Field(default=None, alias="from")
    valid_until: date | None = Field(default=None, alias="until")

    @model_validator(mode="after")
    def _one_target(self) -> Affiliation:
        if (self.address is None) == (self.domain is None):
            raise ValueError("needs exactly one of 'address' or 'domain'")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("'from' is after 'until'")
        return self


class AffiliationFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    affiliations: list[Affiliation] = Field(default_factory=list)


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        data = safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise IdentityFileError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise IdentityFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise IdentityFileError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise IdentityFileError(f"{path}: not valid YAML{describe(exc)}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # errors() is built without the input values: the file's content stays out of the message
        err = exc.errors(include_url=False, include_input=False, include_context=False)[0]
        loc = clip(".".join(str(p) for p in err["loc"]))
        raise IdentityFileError(
            f"{path}: key '{loc}': {one_line(err['msg'].removeprefix('Value error, '))}"
        ) from None


def read_aliases(path: Path) -> AliasFile:
    return _load(path, AliasFile)  # type: ignore[return-value]


def read_affiliations(path: Path) -> AffiliationFile:
    return _load(path, AffiliationFile)  # type: ignore[return-value]
