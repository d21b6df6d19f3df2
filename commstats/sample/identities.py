"""The identity files of the sample: a git mailmap, an alias list and an affiliation list.

``identities/mailmap`` is in git's .mailmap format, one line per secondary address::

    Proper Name <proper@email> <other@email>

``identities/aliases.yaml`` lists every person known under several addresses::

    people:
      - name: Jane Doe
        addresses: [jane@work.com, jane.doe@gmail.com]

``identities/affiliations.yaml`` maps an address or a (registrable) domain to an organization,
optionally limited in time. ``from`` and ``until`` are inclusive ISO dates and both optional; an
entry for an address wins over one for a domain::

    affiliations:
      - address: jdoe@gmail.com        # or domain: example.com
        organization: Intel
        until: 2021-06-30
      - address: jdoe@gmail.com
        organization: Red Hat
        from: 2021-07-01

The sample lists only what no domain rule can know (the dated employer change of a gmail address,
webmail addresses of employees); company domains are named by the shipped domain map, whose
registrable-domain rollup covers ``de.ibm.com`` and ``linux.vnet.ibm.com`` (IBM) and
``lab.ntt.co.jp`` (NTT). The small company domain ``tinycloud.dev`` is in neither, so its people
land on the unaffiliated worklist.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from commstats.sample.people import EMPLOYER_CHANGE, UNMAPPED_DOMAIN, WEBMAIL, Person

DOMAIN_MAP = {
    "redhat.com": "Red Hat",
    "intel.com": "Intel",
    "ibm.com": "IBM",
    "suse.com": "SUSE",
    "suse.de": "SUSE",
    "google.com": "Google",
    "amazon.com": "Amazon",
    "oracle.com": "Oracle",
    "huawei.com": "Huawei",
    "citrix.com": "Citrix",
    "amd.com": "AMD",
    "arm.com": "Arm",
    "ntt.co.jp": "NTT",
    "linaro.org": "Linaro",
    "alibaba.com": "Alibaba",
}


def primary_address(person: Person) -> str:
    """The address a person is best known by: their latest commit address."""
    return person.commit_addresses[-1][1]


def mailmap_text(people: list[Person]) -> str:
    lines = ["# Secondary addresses -> the person's primary identity (git .mailmap format)."]
    for person in people:
        primary = primary_address(person)
        for address in person.addresses:
            if address != primary:
                lines.append(f"{person.name} <{primary}> <{address}>")
    return "\n".join(lines) + "\n"


def aliases_data(people: list[Person]) -> dict:
    return {"people": [{"name": p.name, "addresses": p.addresses} for p in people if len(p.addresses) > 1]}


def affiliations_data(people: list[Person]) -> dict:
    # Company domains are left to the shipped domain map (dbt seed domain_organizations); only
    # what no domain rule can know is explicit here.
    entries: list[dict] = []
    assert UNMAPPED_DOMAIN not in DOMAIN_MAP
    for person in people:
        if person.key == "employer-change":
            # The gmail address follows the person across the move; only a dated entry can say so.
            before, after = person.stints
            entries.append(
                {"address": person.mail_address, "organization": before.organization, "until": before.end}
            )
            entries.append(
                {"address": person.mail_address, "organization": after.organization, "from": EMPLOYER_CHANGE}
            )
        elif person.mail_address.split("@")[1] in WEBMAIL and person.name in ("Wang Wei", "Zoë Lambert"):
            # A webmail address explicitly known to belong to an employee.
            entries.append({"address": person.mail_address, "organization": person.stints[0].organization})
    return {"affiliations": entries}


def write_identities(directory: Path, people: list[Person]) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "mailmap": directory / "mailmap",
        "aliases": directory / "aliases.yaml",
        "affiliations": directory / "affiliations.yaml",
    }
    paths["mailmap"].write_text(mailmap_text(people), encoding="utf-8")
    dump = {"sort_keys": False, "allow_unicode": True, "default_flow_style": None, "width": 200}
    paths["aliases"].write_text(yaml.safe_dump(aliases_data(people), **dump), encoding="utf-8")
    block = {**dump, "default_flow_style": False}
    paths["affiliations"].write_text(yaml.safe_dump(affiliations_data(people), **block), encoding="utf-8")
    return paths
