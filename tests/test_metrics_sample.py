"""Every metric of METRICS.md on the generated sample, against values computed here from the
generated git repositories and mailboxes with git and the standard library (tests/independent.py).

One `commstats run` per module; each test reads the warehouse it produced.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from tests import independent as ind

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"
KVM_PATHS = ["virt/", ":(glob)arch/*/kvm/**", "include/linux/kvm*.h"]
PROJECTS = {
    # project -> (repository, path scope as git pathspecs, mailbox, list name)
    "vmcore": ("vmcore.git", [], "vmcore-devel.mbox", "vmcore-devel"),
    "kernel-virt": ("minikernel.git", KVM_PATHS, "kvm.mbox", "kvm"),
}
REVIEW_KINDS = ("acked-by", "reviewed-by", "tested-by", "reported-by")
NOT_EMPLOYERS = ("(independent)", "(unknown)")


@pytest.fixture(scope="module")
def con(pipeline_run: dict) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(pipeline_run["warehouse"]), read_only=True)
    yield connection
    connection.close()


class Expected:
    """What one project's marts should say, computed from its repository and mailbox."""

    def __init__(self, sample: Path, project: str) -> None:
        repo_name, paths, mbox, _ = PROJECTS[project]
        repo = sample / "repos" / repo_name
        self.orgs = ind.Organizations(sample / "identities" / "affiliations.yaml", SEEDS)
        self.archive = ind.mail_archive(sample / "mail" / mbox)
        self.commits = ind.commit_details(repo, paths)
        addresses = {m["address"] for m in self.archive}
        for c in self.commits:
            addresses |= {c["author"], c["committer"]} | {a for _, a, _ in c["trailers"] if a}
        self.person = ind.Mailmap(sample / "repos" / "vmcore.git", sample / "identities" / "mailmap").resolve(
            addresses
        )
        self.by_id = {m["id"]: m for m in self.archive}
        self.series = ind.series_of(self.archive)
        self.members: dict[str, list[dict]] = defaultdict(list)
        for mid, key in self.series.items():
            self.members[key].append(self.by_id[mid])
        self.patches = [m for m in self.archive if m["is_patch"]]
        self._match(repo)
        self._replies()
        self._acts()

    def human(self, address: str) -> bool:
        return not ind.is_bot(address)

    # -- patches and the commits they became ------------------------------------------------------

    def _match(self, repo: Path) -> None:
        pid_of_mail = ind.patch_ids({m["id"]: m["body"] for m in self.patches}, repo)
        by_pid: dict[str, dict] = {}
        by_link: dict[str, dict] = {}
        by_subject: dict[tuple[str, str], dict] = {}
        for c in sorted(self.commits, key=lambda c: c["committed"]):
            if c["patch_id"]:
                by_pid.setdefault(c["patch_id"], c)
            for kind, _, value in c["trailers"]:
                if kind == "link":
                    by_link.setdefault(value.rstrip("/").rsplit("/", 1)[-1], c)
            by_subject.setdefault((c["subject"].strip().lower(), self.person[c["author"]]), c)
        self.merged_as: dict[str, dict] = {}
        for m in self.patches:
            c = (
                by_pid.get(pid_of_mail.get(m["id"], ""))
                or by_link.get(m["id"])
                or by_subject.get((ind.normalized_subject(m["subject"]), self.person[m["address"]]))
            )
            if c:
                self.merged_as[m["id"]] = c

    def _replies(self) -> None:
        # a first reply is a direct reply (not a new patch or cover letter) by a known human
        below: dict[str, list[dict]] = defaultdict(list)
        for m in self.archive:
            if (
                m["address"]
                and self.human(m["address"])
                and m["parent"]
                and not (m["is_patch"] or m["is_cover"])
            ):
                below[m["parent"]].append(m)
        self.last_message = max(m["at"] for m in self.archive)

        def first_reply(anchors: list[str], sender: str):
            times = [
                r["at"] for a in anchors for r in below[a] if self.person[r["address"]] != self.person[sender]
            ]
            return min(times, default=None)

        self.hours: dict[int, list[float]] = defaultdict(list)
        for m in self.patches:
            covers = [x["id"] for x in self.members[self.series[m["id"]]] if x["is_cover"]]
            reply = first_reply([m["id"], *covers], m["address"])
            if reply is not None:
                self.hours[m["at"].year].append((reply - m["at"]).total_seconds() / 3600)
        self.unanswered: dict[int, list[int]] = defaultdict(list)
        for members in self.members.values():
            head = min(members, key=lambda x: (not x["is_cover"], x["at"], x["id"]))
            posted = min(x["at"] for x in members)
            reply = first_reply([x["id"] for x in members], head["address"])
            if reply is not None and reply <= posted + timedelta(days=14):
                self.unanswered[posted.year].append(0)
            elif self.last_message >= posted + timedelta(days=14):
                self.unanswered[posted.year].append(1)

    # -- review acts: commit trailers, and list trailers that name their sender ---------------------

    def _acts(self) -> None:
        # key (change, giver person, kind, occurrence) -> giver, receiver, date, given on the list
        acts: dict[tuple, dict] = {}
        for c in self.commits:
            lines: Counter = Counter()
            for kind, address, _ in c["trailers"]:
                if kind in REVIEW_KINDS and address:
                    # every line counts: a repeated line is the person's next act on the commit
                    lines[(self.person[address], kind)] += 1
                    key = (c["sha"], self.person[address], kind, lines[(self.person[address], kind)])
                    acts[key] = {"giver": address, "receiver": c["author"], "at": c["at"], "list": False}
        self.mismatches = 0
        for t in ind.reply_trailers(self.archive):
            reply = t["message"]
            names_sender = (
                t["address"] == reply["address"]
                or self.person.get(t["address"]) == self.person[reply["address"]]
                or t["name"].strip().lower() == reply["name"].strip().lower()
            )
            if not names_sender:
                self.mismatches += 1
                continue
            target = next(
                (
                    self.by_id[a]
                    for a in reply["ancestors"]
                    if self.by_id[a]["is_patch"] or self.by_id[a]["is_cover"]
                ),
                self.by_id[reply["parent"]],
            )
            if target["is_cover"]:
                landed = [x for x in self.members[self.series[target["id"]]] if x["is_patch"]] or [target]
            else:
                landed = [target]
            for patch in landed:
                commit = self.merged_as.get(patch["id"])
                change = commit["sha"] if commit else patch["id"]
                key = (change, self.person.get(t["address"], t["address"]), t["kind"], 1)
                if key in acts:
                    acts[key]["list"] = True
                else:
                    acts[key] = {
                        "giver": t["address"],
                        "receiver": commit["author"] if commit else patch["address"],
                        "at": reply["at"],
                        "list": True,
                    }
        self.acts = [{"kind": k[2], **v} for k, v in acts.items()]

    # -- per person and per organization ----------------------------------------------------------

    def per_person_year(self, metric: str) -> Counter:
        p, out = self.person, Counter()
        if metric == "threads_started":
            items = [(m["address"], m["at"]) for m in self.archive if m["parent"] is None]
        elif metric == "patches_posted":
            items = [(m["address"], m["at"]) for m in self.patches]
        elif metric == "signoffs_non_author":
            items = []
            for c in self.commits:
                signers = {p[a]: a for k, a, _ in c["trailers"] if k == "signed-off-by" and a}
                items += [(a, c["at"]) for person, a in signers.items() if person != p[c["author"]]]
        else:
            kind, side = {
                "acks_given": ("acked-by", "giver"),
                "acks_received": ("acked-by", "receiver"),
                "reviews_given": ("reviewed-by", "giver"),
                "reviews_received": ("reviewed-by", "receiver"),
                "tests_given": ("tested-by", "giver"),
                "reports_given": ("reported-by", "giver"),
                "list_acks_given": ("acked-by", "list_giver"),
            }[metric]
            items = [
                (a["giver" if side == "list_giver" else side], a["at"])
                for a in self.acts
                if a["kind"] == kind and (side != "list_giver" or a["list"])
            ]
        for address, at in items:
            if self.human(address):
                out[(p.get(address, address), at.year)] += 1
        return out

    def acts_by_org(self) -> list[tuple[str, str, object, bool]]:
        """(person, organization, date, did) of every act of the sample that a period mart counts;
        did is False for an ack or review received (something done TO the person)."""
        rows = [(m["address"], m["at"], True) for m in self.archive]
        for c in self.commits:
            rows.append((c["author"], c["at"], True))
            signers = {self.person[a]: a for k, a, _ in c["trailers"] if k == "signed-off-by" and a}
            rows += [
                (a, c["at"], True) for person, a in signers.items() if person != self.person[c["author"]]
            ]
        for a in self.acts:
            rows.append((a["giver"], a["at"], True))
            if a["kind"] in ("acked-by", "reviewed-by"):
                rows.append((a["receiver"], a["at"], False))
        return [
            (self.person.get(addr, addr), self.orgs.organization(addr, at.date()), at, did)
            for addr, at, did in rows
            if self.human(addr)
        ]

    def commit_orgs(self, year: int | None = None, through: int | None = None) -> list[tuple[str, str]]:
        """(person, concentration unit) per commit: the organization, or the person themself for
        `(independent)` and `(unknown)`, which are no employer."""
        return [
            (
                self.person[c["author"]],
                unit(self.orgs.organization(c["author"], c["at"].date()), self.person[c["author"]]),
            )
            for c in self.commits
            if self.human(c["author"])
            and (year is None or c["at"].year == year)
            and (through is None or c["at"].year <= through)
        ]


def unit(organization: str, person: str) -> str:
    return f"{organization} {person}" if organization in NOT_EMPLOYERS else organization


@pytest.fixture(scope="module")
def expected(sample_dir: Path) -> dict[str, Expected]:
    return {project: Expected(sample_dir, project) for project in PROJECTS}


def rows(con, sql: str, *params) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def health(con, project: str, column: str, grain: str = "year") -> dict[int, object]:
    return dict(
        rows(
            con,
            f"select year(period_start), {column} from marts.community_health "
            "where project = ? and grain = ? order by 1",
            project,
            grain,
        )
    )


# -- mail: threads, patches, series ---------------------------------------------------------------


@pytest.mark.parametrize(
    "metric",
    [
        "threads_started",
        "patches_posted",
        "acks_given",
        "acks_received",
        "reviews_given",
        "reviews_received",
        "tests_given",
        "reports_given",
        "signoffs_non_author",
        "list_acks_given",
    ],
)
@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_person_metrics_per_year(con, expected, project, metric):
    want = expected[project].per_person_year(metric)
    got = rows(
        con,
        f"select person_id, year(period_start), {metric} from marts.person_activity "
        f"where project = ? and grain = 'year' and {metric} > 0",
        project,
    )
    assert {(p, y): n for p, y, n in got} == dict(want)
    assert sum(want.values()) > 0


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_series_and_merged_patches_per_year(con, expected, project):
    exp = expected[project]
    series = Counter(
        min(m["at"] for m in members).year
        for members in exp.members.values()
        if ind.is_bot(members[0]["address"]) is False
    )
    merged = Counter(exp.by_id[mid]["at"].year for mid in exp.merged_as)
    posted = Counter(m["at"].year for m in exp.patches)
    assert health(con, project, "series_posted") == dict(series)
    assert health(con, project, "patches_merged") == dict(merged)
    assert health(con, project, "patches_posted") == dict(posted)
    # rejected, ignored and superseded series never land
    assert 0 < sum(merged.values()) < sum(posted.values())


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_first_reply_and_unanswered_share(con, expected, project):
    exp = expected[project]
    medians = health(con, project, "median_hours_to_first_reply")
    shares = health(con, project, "unanswered_patch_share")
    for year, hours in exp.hours.items():
        assert medians[year] == pytest.approx(statistics.median(hours)), year
    for year, flags in exp.unanswered.items():
        assert shares[year] == pytest.approx(sum(flags) / len(flags)), year
    # cumulative through 2022: every patch posted up to the end of 2022
    through = [h for year, hs in exp.hours.items() if year <= 2022 for h in hs]
    assert health(con, project, "median_hours_to_first_reply", "cumulative")[2022] == pytest.approx(
        statistics.median(through)
    )


# -- organizations and concentration --------------------------------------------------------------


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_concentration_per_year(con, expected, project):
    exp = expected[project]
    got = {
        r[0]: r[1:]
        for r in rows(
            con,
            "select year(period_start), elephant_factor, top_org_share, hhi, contributor_absence_factor "
            "from marts.community_health where project = ? and grain = 'year'",
            project,
        )
    }
    for year in range(2019, 2025):
        pairs = exp.commit_orgs(year)
        by_org = Counter(org for _, org in pairs)
        by_person = Counter(person for person, _ in pairs)
        total = sum(by_org.values())
        ef, top, hhi, absence = got[year]
        assert ef == ind.reach_half(by_org), year
        assert top == pytest.approx(max(by_org.values()) / total)
        assert hhi == pytest.approx(sum((n / total) ** 2 for n in by_org.values()))
        assert absence == ind.reach_half(by_person)


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_people_and_organizations_active(con, expected, project):
    acts = expected[project].acts_by_org()
    # an organization row exists for any act; only acts done (not acks or reviews received)
    # count its people and make it active
    people: dict[tuple[str, int], set] = defaultdict(set)
    active: dict[int, set] = defaultdict(set)
    for person, org, at, did in acts:
        people.setdefault((org, at.year), set())
        if did:
            people[(org, at.year)].add(person)
            active[at.year].add(org)
    got = rows(
        con,
        "select organization, year(period_start), people from marts.organization_activity "
        "where project = ? and grain = 'year'",
        project,
    )
    assert {(o, y): n for o, y, n in got} == {k: len(v) for k, v in people.items()}
    assert health(con, project, "organizations_active") == {y: len(v) for y, v in active.items()}


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_outsider_merge_share(con, expected, project):
    exp = expected[project]
    flags: dict[int, list[bool]] = defaultdict(list)
    for c in exp.commits:
        # bot committers are left out; each side's organization on its own date
        if exp.human(c["author"]) and exp.human(c["committer"]):
            author_org = exp.orgs.organization(c["author"], c["at"].date())
            committer_org = exp.orgs.organization(c["committer"], c["committed"].date())
            author, committer = exp.person[c["author"]], exp.person[c["committer"]]
            flags[c["at"].year].append(unit(author_org, author) != unit(committer_org, committer))
    got = health(con, project, "outsider_merge_share")
    for year, fl in flags.items():
        assert got[year] == pytest.approx(sum(fl) / len(fl)), year
    assert 0 < sum(map(sum, flags.values())) < sum(map(len, flags.values()))


def test_review_exchange_2024(con, expected):
    exp = expected["vmcore"]
    want: Counter = Counter()
    for a in exp.acts:
        if a["kind"] in ("acked-by", "reviewed-by") and a["at"].year == 2024 and exp.human(a["giver"]):
            day = a["at"].date()
            key = (
                exp.orgs.organization(a["giver"], day),
                exp.orgs.organization(a["receiver"], day),
                a["kind"],
            )
            want[key] += 1
    got: Counter = Counter()
    for reviewer, author, acks, reviews in rows(
        con,
        "select reviewer_organization, author_organization, acks, reviews from marts.review_exchange "
        "where project = 'vmcore' and grain = 'year' and period_start = date '2024-01-01'",
    ):
        if acks:
            got[(reviewer, author, "acked-by")] = acks
        if reviews:
            got[(reviewer, author, "reviewed-by")] = reviews
    assert got == want
    assert len(want) > 10


# -- cumulative grain -----------------------------------------------------------------------------


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_cumulative_grain_covers_everything_so_far(con, expected, project):
    exp = expected[project]
    got = {
        r[0]: r[1:]
        for r in rows(
            con,
            "select year(period_start), correspondents, submitters, commits, elephant_factor "
            "from marts.community_health where project = ? and grain = 'cumulative'",
            project,
        )
    }
    assert sorted(got) == list(range(2019, 2025))
    for year in (2020, 2024):
        writers = {
            exp.person[m["address"]] for m in exp.archive if m["at"].year <= year and exp.human(m["address"])
        }
        pairs = exp.commit_orgs(through=year)
        assert got[year] == (
            len(writers),
            len({p for p, _ in pairs}),
            len(pairs),
            ind.reach_half(Counter(o for _, o in pairs)),
        )
    # person rows: the cumulative commits of a person are the sum of their yearly commits so far
    sums = rows(
        con,
        "select c.person_id, c.commits, sum(y.commits) from marts.person_activity as c "
        "join marts.person_activity as y on c.project = y.project and c.person_id = y.person_id "
        "and y.grain = 'year' and y.period_start <= c.period_start "
        "where c.project = ? and c.grain = 'cumulative' and c.period_start = date '2024-01-01' group by all",
        project,
    )
    assert sums and all(c == s for _, c, s in sums)


# -- identities, worklist, data quality -----------------------------------------------------------


def test_bots_are_flagged_and_not_counted(con):
    bots = dict(rows(con, "select person_id, is_counted from marts.people where is_bot"))
    assert "syzbot+1a2b3c@syzkaller.appspotmail.com" in bots
    assert "patchwork-bot+vmcore@kernel.org" in bots
    assert not any(bots.values())
    counted = rows(
        con,
        "select count(*) from marts.person_activity join marts.people using (person_id) where is_bot",
    )
    assert counted == [(0,)]


def test_unaffiliated_worklist(con, expected):
    want: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for exp in expected.values():
        for m in exp.archive:
            if exp.orgs.rule(m["address"], m["at"].date())[1] == "registrable_domain" and exp.human(
                m["address"]
            ):
                want[m["address"]][0] += 1
        for c in exp.commits:
            if exp.orgs.rule(c["author"], c["at"].date())[1] == "registrable_domain":
                want[c["author"]][1] += 1
    got = rows(
        con,
        "select address, domain, messages, commits, activity_rank from marts.unaffiliated_addresses order by 5",
    )
    assert {a: [m, c] for a, _, m, c, _ in got if m or c} == dict(want)
    assert {d for _, d, *_ in got} == {"tinycloud.dev"}
    activity = [m + c for _, _, m, c, _ in got]
    assert activity == sorted(activity, reverse=True)


@pytest.mark.parametrize("project", sorted(PROJECTS))
def test_data_quality_and_trailer_mismatches(con, expected, sample_dir, project):
    list_name = PROJECTS[project][3]
    manifest = json.loads((sample_dir / "manifest.json").read_text())["mailing_lists"][list_name]
    checks = {
        (s, c): n
        for s, c, n in rows(
            con, 'select source, "check", count from marts.data_quality where project = ?', project
        )
    }
    exp = expected[project]
    assert checks[("mail", "messages")] == len(exp.archive)
    assert checks[("mail", "missing_message_id")] == manifest["edge_cases"]["missing_message_id"]
    assert checks[("mail", "duplicate_identical")] == manifest["edge_cases"]["exact_duplicates"]
    assert checks[("mail", "trailer_mismatch")] == exp.mismatches == manifest["forwarded_trailers"]
    assert checks[("git", "commits")] == len(exp.commits)
    assert checks[("mail", "quarantined")] == 0
    mismatches = rows(con, "select count(*) from marts.trailer_mismatches where project = ?", project)
    assert mismatches == [(exp.mismatches,)]
