"""The cast of the sample communities: about 100 people from about 15 organizations.

The population is built to exercise every identity rule in METRICS.md:

* sub-domains that roll up to a registrable domain (``de.ibm.com``, ``linux.vnet.ibm.com`` and
  ``us.ibm.com`` are all IBM; ``lab.ntt.co.jp`` is NTT, never ``co.jp``);
* webmail users (independent) and one small company whose domain no map knows (``tinycloud.dev``);
* people with two addresses (commit with the work one, mail with a personal one), merged only by the
  mailmap / alias files, never by name;
* one person who changes employer in mid-2021 (Intel -> Red Hat), visible both as a change of work
  address and as a dated affiliation of the gmail address used throughout;
* display names with non-ASCII letters, a four-word name, and a name containing a comma.

Everything is drawn from a ``random.Random`` handed in by the caller, so the cast is a pure function
of the seed.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date

INDEPENDENT = "(independent)"
WEBMAIL = ("gmail.com", "yahoo.com", "qq.com", "163.com", "outlook.com")
UNMAPPED_DOMAIN = "tinycloud.dev"
EMPLOYER_CHANGE = date(2021, 7, 1)


@dataclass(frozen=True)
class Stint:
    """One organization over a period (``start``/``end`` inclusive, ``None`` = open)."""

    organization: str
    start: date | None = None
    end: date | None = None


@dataclass
class Person:
    name: str
    mail_name: str  # display name in From: (may differ from the git name, e.g. Chinese characters)
    commit_addresses: list[tuple[date | None, str]]  # (valid from, address), ascending
    mail_address: str
    tz: int  # UTC offset in minutes, used for Date headers and git signatures
    stints: list[Stint]
    projects: tuple[str, ...] = ()
    commits: bool = True  # False: writes mail (reviews, discussion) but never authors a commit
    first_year: int = 2019
    last_year: int = 2024
    signature: str | None = None
    key: str = ""
    extra_addresses: list[str] = field(default_factory=list)

    def commit_address(self, day: date) -> str:
        chosen = self.commit_addresses[0][1]
        for start, address in self.commit_addresses:
            if start is None or day >= start:
                chosen = address
        return chosen

    def organization(self, day: date) -> str:
        for stint in self.stints:
            if (stint.start is None or day >= stint.start) and (stint.end is None or day <= stint.end):
                return stint.organization
        return self.stints[-1].organization

    @property
    def addresses(self) -> list[str]:
        seen: list[str] = []
        for address in [a for _, a in self.commit_addresses] + [self.mail_address] + self.extra_addresses:
            if address not in seen:
                seen.append(address)
        return seen

    def active(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year


@dataclass(frozen=True)
class Org:
    name: str
    domains: tuple[tuple[str, int], ...]  # (mail domain, number of people)
    tzs: tuple[int, ...]
    names: str  # name pool


ORGS: tuple[Org, ...] = (
    Org("Red Hat", (("redhat.com", 14),), (60, 120, -300, -240, 0, 330), "west"),
    Org("Intel", (("intel.com", 9),), (-480, 480, -420), "mixed"),
    Org("IBM", (("de.ibm.com", 4), ("linux.vnet.ibm.com", 3), ("us.ibm.com", 2)), (60, 330, -300), "west"),
    Org("SUSE", (("suse.com", 4), ("suse.de", 3)), (60, 120), "west"),
    Org("Google", (("google.com", 8),), (-420, -480), "mixed"),
    Org("Amazon", (("amazon.com", 6),), (-480, 60), "west"),
    Org("Oracle", (("oracle.com", 4),), (-300, 60), "west"),
    Org("Huawei", (("huawei.com", 5),), (480,), "chinese"),
    Org("Citrix", (("citrix.com", 3),), (0,), "west"),
    Org("AMD", (("amd.com", 5),), (-360, 330), "mixed"),
    Org("Arm", (("arm.com", 5),), (0, 60), "west"),
    Org("NTT", (("lab.ntt.co.jp", 3),), (540,), "japanese"),
    Org("Linaro", (("linaro.org", 4),), (60, 330), "west"),
    Org("Alibaba", (("linux.alibaba.com", 4),), (480,), "chinese"),
    Org(
        INDEPENDENT,
        (("gmail.com", 4), ("yahoo.com", 1), ("qq.com", 2), ("163.com", 1), ("outlook.com", 2)),
        (-300, 60, 480),
        "mixed",
    ),
    Org("TinyCloud", ((UNMAPPED_DOMAIN, 3),), (-180,), "west"),
)

FIRST = {
    "west": "Paolo Sean Thomas Jan Claudio Christian David Greg Stefan Kevin Marc Julien Andrew Peter Vitaly "
    "Emanuele Laura Sara Anna Eric Igor Juergen Ilya Markus Nadia Olivia Hannah Tobias Lukas Carla Björn Søren "
    "François Chloé Niamh Elena Ingrid Pedro Rui",
    "mixed": "Chao Yan Sanjay Priya Rahul Ashok Lei Maxim Jim Tom Babu Sandipan Ravi Kai Yu Nikhil Ananya Mingwei",
    "chinese": "Wei Jun Lei Ming Hao Xin Yong Jing Qiang Tao Bo Peng Fang Chen",
    "japanese": "Takuya Yuki Hiroshi Kenji Akira Naoki",
}
LAST = {
    "west": "Bonzini Christopherson Huth Kiszka Imbrenda Borntraeger Hildenbrand Kroah Hajnoczi Zyngier "
    "Grall Cooper Kuznetsov Giuseppe Vivier Gordeev Mammedov Gross Leizerowicz Lindqvist Okafor Brennan "
    "Schubert Moreau Petrov Novak Ferreira Kowalski Rossi Jansen Andersen",
    "mixed": "Gao Zhao Sharma Iyer Kumar Mattson Levitsky Patel Menon Singh Chen Tan Liu",
    "chinese": "Wang Li Zhang Liu Chen Yang Huang Zhou Wu Xu Sun Ma Zhu Hu Guo",
    "japanese": "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto",
}


def ascii_slug(text: str) -> str:
    """Addresses are ASCII: 'Zoë' -> 'zoe', 'Søren' -> 'soren'."""
    text = text.replace("ø", "o").replace("Ø", "O")
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum() or c in " -")).lower()


def _local_part(rng: random.Random, first: str, last: str, domain: str) -> str:
    f, la = ascii_slug(first).replace(" ", ""), ascii_slug(last).replace(" ", "")
    if domain == "redhat.com":
        return f[0] + la if rng.random() < 0.6 else f
    if domain.endswith("ibm.com"):
        return la
    if domain in ("qq.com", "163.com"):
        return f"{f}{la}{rng.randint(10, 99)}"
    if domain in WEBMAIL:
        return f"{f}.{la}{rng.choice(['', '.dev', '.kernel', '88'])}"
    return f"{f}.{la}"


def _special_people() -> list[Person]:
    """Hand-written people, each pinning down one identity edge case."""
    intel, rh = "Intel", "Red Hat"
    return [
        # Changes employer mid-2021: work address changes AND a dated affiliation for the gmail
        # address used for mail throughout.
        Person(
            name="Alex Morgan",
            mail_name="Alex Morgan",
            commit_addresses=[(None, "alex.morgan@intel.com"), (EMPLOYER_CHANGE, "alex.morgan@redhat.com")],
            mail_address="a.morgan.kvm@gmail.com",
            tz=-480,
            stints=[Stint(intel, None, date(2021, 6, 30)), Stint(rh, EMPLOYER_CHANGE, None)],
            projects=("kernel-virt", "vmcore"),
            key="employer-change",
        ),
        # Two addresses: commits with the work one, mails with a personal one.
        Person(
            name="José García",
            mail_name="José García",
            commit_addresses=[(None, "jose.garcia@suse.com")],
            mail_address="jose.garcia.dev@gmail.com",
            tz=60,
            stints=[Stint("SUSE")],
            projects=("vmcore",),
            key="two-addresses",
        ),
        Person(
            name="Zoë Lambert",
            mail_name="Zoë Lambert",
            commit_addresses=[(None, "zoe.lambert@arm.com")],
            mail_address="zoe.lambert@outlook.com",
            tz=0,
            stints=[Stint("Arm")],
            projects=("kernel-virt",),
            key="two-addresses",
        ),
        Person(
            name="Wang Wei",
            mail_name="王伟",
            commit_addresses=[(None, "wangwei@huawei.com")],
            mail_address="wangwei.kernel@163.com",
            tz=480,
            stints=[Stint("Huawei")],
            projects=("kernel-virt", "vmcore"),
            key="two-addresses",
        ),
        Person(
            name="Maria de la Cruz",
            mail_name="Maria de la Cruz",
            commit_addresses=[(None, "maria.delacruz@oracle.com")],
            mail_address="maria.delacruz@oracle.com",
            tz=-300,
            stints=[Stint("Oracle")],
            projects=("vmcore",),
            key="four-word-name",
        ),
        Person(
            name="Jane Doe",
            mail_name="Doe, Jane",
            commit_addresses=[(None, "jane.doe@oracle.com")],
            mail_address="jane.doe@oracle.com",
            tz=-300,
            stints=[Stint("Oracle")],
            projects=("kernel-virt", "vmcore"),
            key="comma-name",
        ),
        # Mail only, with an RFC 2047 encoded display name.
        Person(
            name="René Dupont",
            mail_name="René Dupont",
            commit_addresses=[(None, "rene.dupont@citrix.com")],
            mail_address="rene.dupont@citrix.com",
            tz=60,
            stints=[Stint("Citrix")],
            projects=("vmcore",),
            commits=False,
            key="rfc2047-name",
            # A signature holding something that looks like a trailer: parsers must skip it.
            signature="René\nAcked-by: the coffee machine <coffee@citrix.com>",
        ),
    ]


def build_people(rng: random.Random) -> list[Person]:
    """The whole cast; every person has a unique name and unique addresses."""
    people = _special_people()
    used_names = {p.name for p in people}
    used_addresses = {a for p in people for a in p.addresses}
    special_orgs = {"SUSE": 1, "Arm": 1, "Huawei": 1, "Oracle": 2, "Citrix": 1}
    for org in ORGS:
        for domain, count in org.domains:
            if domain in ("suse.com", "arm.com", "huawei.com", "oracle.com", "citrix.com"):
                count -= special_orgs[org.name]
            for _ in range(count):
                pool = org.names if org.names != "mixed" else rng.choice(["west", "mixed", "chinese"])
                if domain in ("qq.com", "163.com"):
                    pool = "chinese"
                while True:
                    first, last = rng.choice(FIRST[pool].split()), rng.choice(LAST[pool].split())
                    name = f"{first} {last}"
                    address = f"{_local_part(rng, first, last, domain)}@{domain}"
                    if name not in used_names and address not in used_addresses:
                        break
                used_names.add(name)
                used_addresses.add(address)
                organization = INDEPENDENT if domain in WEBMAIL else org.name
                roll = rng.random()
                projects = (
                    ("vmcore",)
                    if roll < 0.4
                    else ("kernel-virt",)
                    if roll < 0.8
                    else ("vmcore", "kernel-virt")
                )
                first_year = rng.choice([2019, 2019, 2019, 2020, 2020, 2021, 2021, 2022, 2023])
                last_year = rng.choice([2024, 2024, 2024, min(2024, first_year + rng.randint(1, 3))])
                people.append(
                    Person(
                        name=name,
                        mail_name=name,
                        commit_addresses=[(None, address)],
                        mail_address=address,
                        tz=rng.choice(org.tzs),
                        stints=[Stint(organization)],
                        projects=projects,
                        commits=rng.random() > 0.3,
                        first_year=first_year,
                        last_year=last_year,
                    )
                )
    # A few people sign their mail; one signature looks like a trailer.
    for person in rng.sample(people[7:], 8):
        person.signature = rng.choice(
            [
                f"{person.name.split()[0]}",
                f"Regards,\n{person.name}",
                f"Thanks,\n{person.name.split()[0]}\nReviewed-by: nobody, this is a signature <sig@example.org>",
            ]
        )
    return people
