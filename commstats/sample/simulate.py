"""One project's life from 2019 to 2024: git history and mailing list, from the same changes.

Each planned unit of work (a patch series, a maintainer's direct commit, a merge, a discussion...)
is played in author-date order. A merged series is first turned into file changes on a scratch copy
of the tree, then committed, and only then posted: the mail's diff is the commit's own diff (as
libgit2 prints it with git's defaults), so ``git patch-id --stable`` agrees between the two. Review
replies are decided before committing, so the commit carries the trailers given on the list.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pygit2

from commstats.sample import content
from commstats.sample import mailing_list as ml
from commstats.sample.git_history import Branch, Content, RepoWriter, adhoc_patch, signature
from commstats.sample.mbox import Mail
from commstats.sample.people import Person
from commstats.sample.projects import ProjectSpec

YEARS = range(2019, 2025)
KINDS = ("Reviewed-by", "Acked-by", "Tested-by", None)


@dataclass(order=True)
class Unit:
    time: datetime
    seq: int
    kind: str = field(compare=False)
    n: int = field(default=1, compare=False)
    fate: str = field(default="merged", compare=False)  # merged | rejected | ignored
    version: int = field(default=1, compare=False)
    scope: str = field(default="in", compare=False)  # in | out | mixed | x86mm
    boundary: bool = field(default=False, compare=False)


@dataclass
class Review:
    sender: Person
    when: datetime
    target: int  # 0 = cover letter (or the lone patch), i = patch i
    kind: str | None
    named: Person  # whom the trailer names (normally the sender)


class ProjectSim:
    def __init__(
        self, spec: ProjectSpec, people: list[Person], rng: random.Random, writer: RepoWriter
    ) -> None:
        self.spec = spec
        self.rng = rng
        self.writer = writer
        self.people = people
        self.mails: list[Mail] = []
        self.history: list[tuple[pygit2.Oid, str, datetime]] = []  # master commits (sha, subject, committed)
        self.members = [p for p in people if spec.key in p.projects]
        self.maintainers = self._choose_maintainers()
        self.out_maintainers = self._choose_out_maintainers() if spec.scoped else []
        self.stats: dict[str, int] = {}
        self._seq = 0

    # -- cast -------------------------------------------------------------------------------------

    def _choose_maintainers(self) -> list[Person]:
        wanted = (
            ["Red Hat", "Red Hat", "SUSE"] if not self.spec.scoped else ["Red Hat", "Google", "IBM", "Arm"]
        )
        chosen: list[Person] = []
        start = datetime(2019, 1, 1).date()
        for org in wanted:
            for p in self.people:
                eligible = p.organization(start) == org and not p.key and self.spec.key in p.projects
                if eligible and all(m.name != p.name for m in chosen):
                    chosen.append(p)
                    break
        for p in chosen:
            p.commits, p.first_year, p.last_year = True, 2019, 2024
        return chosen

    def _choose_out_maintainers(self) -> list[Person]:
        chosen = [
            p
            for p in self.people
            if not p.key and p not in self.maintainers and p.commits and p.first_year == 2019
        ][-3:]
        for p in chosen:
            p.last_year = 2024
        return chosen

    def _bump(self, key: str, by: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + by

    def _pick_author(self, when: datetime) -> Person:
        year = when.year
        pool = [p for p in self.members if p.commits and p.active(year)]
        weights = [
            self.spec.boost.get(year, 1.0) if p.organization(when.date()) == self.spec.boost_org else 1.0
            for p in pool
        ]
        return self.rng.choices(pool, weights)[0]

    def _pick_committer(self, author: Person) -> Person:
        weights = [
            3.0 if m.organization(datetime(2020, 1, 1).date()) == "Red Hat" else 1.0 for m in self.maintainers
        ]
        committer = self.rng.choices(self.maintainers, weights)[0]
        if committer is author and self.rng.random() < 0.5:
            committer = self.rng.choice(self.maintainers)
        return committer

    def _correspondents(self, year: int, exclude: Person | None = None) -> list[Person]:
        return [p for p in self.members if p.active(year) and p is not exclude]

    # -- planning ---------------------------------------------------------------------------------

    def _unit(self, time: datetime, kind: str, **kw: object) -> Unit:
        self._seq += 1
        return Unit(time, self._seq, kind, **kw)  # type: ignore[arg-type]

    def _random_time(self, year: int) -> datetime:
        start = datetime(year, 1, 3, tzinfo=UTC)
        return start + timedelta(seconds=self.rng.randrange(int(timedelta(days=355).total_seconds())))

    def plan(self) -> list[Unit]:
        rng, spec = self.rng, self.spec
        units: list[Unit] = []
        for year in YEARS:
            target = round(spec.target_commits * spec.year_weights[year])
            count = 0
            while count < target:
                t = self._random_time(year)
                roll = rng.random()
                if spec.scoped and roll < 0.74:
                    scope = "x86mm" if rng.random() < 0.02 else "out"
                    units.append(self._unit(t, "direct", scope=scope))
                    count += 1
                    continue
                if roll < (0.80 if spec.scoped else 0.25):
                    units.append(self._unit(t, "direct", scope="in"))
                    count += 1
                    continue
                n = 1 if rng.random() < 0.45 else rng.randint(2, 6)
                fate = rng.choices(["merged", "rejected", "ignored"], [0.8, 0.1, 0.1])[0]
                version = 1 if rng.random() < 0.75 else rng.choice([2, 2, 3])
                scope = "mixed" if spec.scoped and rng.random() < 0.12 else "in"
                units.append(self._unit(t, "series", n=n, fate=fate, version=version, scope=scope))
                if fate == "merged":
                    count += n
            for _ in range(round(70 * spec.year_weights[year] * 6)):
                units.append(self._unit(self._random_time(year), "discussion"))
            for month in (3, 9):
                units.append(self._unit(datetime(year, month, 20, 12, tzinfo=UTC), "pull"))
            if spec.scoped:
                for _ in range(4):
                    units.append(self._unit(self._random_time(year), "syzbot"))
            if year > 2019:
                units.append(self._unit(self._random_time(year), "merge"))
            if year in (2020, 2021, 2022):
                units.append(self._unit(datetime(year, 12, 30, 10, tzinfo=UTC), "series", boundary=True))
        for year, kind in [
            (2019, "rename"),
            (2020, "binary"),
            (2021, "rename"),
            (2021, "delete"),
            (2022, "binary"),
            (2022, "rename"),
            (2023, "delete"),
            (2023, "rename"),
            (2024, "binary"),
            (2024, "delete"),
        ]:
            units.append(self._unit(self._random_time(year), kind))
        return sorted(units)

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> None:
        self._initial_commit()
        for unit in self.plan():
            getattr(self, f"_do_{unit.kind}")(unit)

    def _commit(
        self,
        branch: Branch,
        changes: dict[str, Content | None],
        author: Person,
        authored: datetime,
        committer: Person,
        committed: datetime,
        message: str,
        extra_parents: tuple[pygit2.Oid, ...] = (),
    ) -> pygit2.Oid:
        a_when, c_when = authored.astimezone(ml.tz(author)), committed.astimezone(ml.tz(committer))
        author_sig = signature(author.name, author.commit_address(a_when.date()), a_when)
        committer_sig = signature(committer.name, committer.commit_address(c_when.date()), c_when)
        oid = self.writer.commit(branch, changes, author_sig, committer_sig, message, extra_parents)
        if branch is self.writer.master:
            self.history.append((oid, message.split("\n", 1)[0], c_when))
        return oid

    def _initial_commit(self) -> None:
        rng = self.rng
        files: dict[str, Content | None] = {
            p: content.new_file(rng, p, blocks) for p, blocks in self.spec.files.items()
        }
        for path in self.spec.binaries:
            files[path] = content.binary_blob(rng, 2048)
        when = datetime(2019, 1, 2, 9, 0, tzinfo=UTC)
        m = self.maintainers[0]
        self._commit(
            self.writer.master,
            files,
            m,
            when,
            m,
            when,
            f"Initial import of {self.spec.repo_name}\n\n{self._sob(m, when)}\n",
        )

    # -- changes ----------------------------------------------------------------------------------

    def _sob(self, person: Person, when: datetime, kind: str = "Signed-off-by") -> str:
        return ml.trailer(kind, person.name, person.commit_address(when.date()))

    def _text_paths(self, files: dict[str, Content], scope: str) -> list[str]:
        paths = [p for p, c in files.items() if not isinstance(c, bytes)]
        if scope == "x86mm":
            return [p for p in paths if p.startswith("arch/x86/mm/")]
        if scope == "out":
            return [p for p in paths if not self.spec.in_scope(p)]
        return [p for p in paths if self.spec.in_scope(p)]

    def _change(
        self, files: dict[str, Content], scope: str, allow_new: bool = True, avoid: set[str] = frozenset()
    ) -> dict[str, Content | None]:
        """File edits for one commit, computed against ``files`` (which is not modified)."""
        rng = self.rng
        candidates = [
            p for p in self._text_paths(files, "in" if scope == "mixed" else scope) if p not in avoid
        ]
        changes: dict[str, Content | None] = {}
        if allow_new and rng.random() < 0.04:
            base = rng.choice(candidates).rsplit("/", 1)[0]
            path = f"{base}/{rng.choice(content.NOUNS)}_{rng.choice(content.VERBS)}{rng.randint(0, 99)}.c"
            if path not in files:
                changes[path] = content.new_file(rng, path, rng.randint(2, 5))
        k = rng.choices([1, 2, 3], [0.6, 0.3, 0.1])[0]
        for path in rng.sample(candidates, min(k, len(candidates))):
            changes[path] = content.edit(
                rng, path, files[path], rng.choice(["small", "small", "small", "large"])
            )  # type: ignore[arg-type]
        if scope == "mixed":
            outside = [p for p in self._text_paths(files, "out") if p not in avoid]
            path = rng.choice(outside)
            changes[path] = content.edit(rng, path, files[path])  # type: ignore[arg-type]
        return changes

    def _subject(self, changes: dict[str, Content | None]) -> str:
        rng = self.rng
        in_scope = [p for p in changes if self.spec.in_scope(p)] or list(changes)
        prefix = self.spec.subject_prefix(in_scope[0])
        noun, noun2, verb = rng.choice(content.NOUNS), rng.choice(content.NOUNS), rng.choice(content.VERBS)
        phrase = rng.choice(
            [
                f"fix {noun} leak in {verb}_{noun2}()",
                f"add support for {noun} {noun2} tracking",
                f"remove unused {verb}_{noun}()",
                f"rework {noun} handling on {verb}",
                f"avoid {noun} overflow in {verb}_{noun2}()",
                f"use {verb}_{noun}() helper",
                f"drop stale {noun} check",
                f"optimize {noun} lookup during {verb}",
                f"don't {verb} {noun} twice",
            ]
        )
        return prefix + phrase

    def _description(self) -> str:
        rng = self.rng
        sentences = [
            " ".join(rng.sample(content.WORDS, rng.randint(8, 14))).capitalize() + "."
            for _ in range(rng.randint(1, 4))
        ]
        return "\n".join(sentences)

    # -- unit handlers ----------------------------------------------------------------------------

    def _do_direct(self, u: Unit) -> None:
        rng = self.rng
        master = self.writer.master
        if u.scope in ("out", "x86mm"):
            author = (
                rng.choice(self.out_maintainers)
                if rng.random() < 0.3
                else rng.choice([p for p in self.people if p.commits and p.active(u.time.year)])
            )
            committer = rng.choice(self.out_maintainers)
        else:
            author = rng.choice(self.maintainers) if rng.random() < 0.5 else self._pick_author(u.time)
            committer = self._pick_committer(author)
        changes = self._change(master.files, u.scope)
        authored = u.time
        committed = authored + timedelta(minutes=rng.randint(30, 60 * 24 * 4))
        trailers = [self._sob(author, authored)]
        if committer is not author:
            if rng.random() < 0.3:
                reviewer = rng.choice(self._correspondents(u.time.year, author))
                trailers.append(
                    ml.trailer(rng.choice(["Reviewed-by", "Acked-by"]), reviewer.name, reviewer.mail_address)
                )
            trailers.append(self._sob(committer, committed))
        message = f"{self._subject(changes)}\n\n{self._description()}\n\n" + "\n".join(trailers) + "\n"
        self._commit(master, changes, author, authored, committer, committed, message)
        self._bump("direct_commits")

    def _do_rename(self, u: Unit) -> None:
        master = self.writer.master
        old = self.rng.choice(self._text_paths(master.files, "in"))
        stem, ext = old.rsplit(".", 1)
        new = f"{stem}_{self.rng.choice(content.NOUNS)}.{ext}"
        changes: dict[str, Content | None] = {
            old: None,
            new: content.edit(self.rng, new, master.files[old], "tiny"),
        }  # type: ignore[arg-type]
        m = self.rng.choice(self.maintainers)
        subject = f"{self.spec.subject_prefix(old)}rename {old.rsplit('/', 1)[1]} to {new.rsplit('/', 1)[1]}"
        self._commit(
            master,
            changes,
            m,
            u.time,
            m,
            u.time + timedelta(hours=2),
            f"{subject}\n\nThe old name no longer describes what the file does.\n\n{self._sob(m, u.time)}\n",
        )
        self._bump("renames")

    def _do_binary(self, u: Unit) -> None:
        master = self.writer.master
        changes: dict[str, Content | None] = {
            p: content.binary_blob(self.rng, 2048 + self.rng.randint(0, 512)) for p in self.spec.binaries
        }
        m = self.rng.choice(self.maintainers)
        self._commit(
            master,
            changes,
            m,
            u.time,
            m,
            u.time + timedelta(hours=1),
            f"Update firmware images\n\nRebuilt from the upstream sources.\n\n{self._sob(m, u.time)}\n",
        )
        self._bump("binary_updates")

    def _do_delete(self, u: Unit) -> None:
        master = self.writer.master
        victims = [p for p in self._text_paths(master.files, "in") if not p.endswith(".h")]
        path = self.rng.choice(victims)
        m = self.rng.choice(self.maintainers)
        subject = f"{self.spec.subject_prefix(path)}remove {path.rsplit('/', 1)[1]}"
        self._commit(
            master,
            {path: None},
            m,
            u.time,
            m,
            u.time + timedelta(hours=3),
            f"{subject}\n\nNothing uses this code any more.\n\n{self._sob(m, u.time)}\n",
        )
        self._bump("deletions")

    def _do_merge(self, u: Unit) -> None:
        """A short topic branch (two commits) merged back after one commit landed on master."""
        rng, writer = self.rng, self.writer
        master = writer.master
        topic = writer.fork(master)
        author = self._pick_author(u.time)
        m = rng.choice(self.maintainers)
        touched: set[str] = set()
        when = u.time
        for _ in range(2):
            changes = self._change(topic.files, "in", allow_new=False, avoid=touched)
            touched |= set(changes)
            msg = f"{self._subject(changes)}\n\n{self._description()}\n\n{self._sob(author, when)}\n{self._sob(m, when)}\n"
            self._commit(topic, changes, author, when, m, when + timedelta(hours=5), msg)
            when += timedelta(hours=1)
        side = self._change(master.files, "in", allow_new=False, avoid=touched)
        msg = f"{self._subject(side)}\n\n{self._description()}\n\n{self._sob(m, when)}\n"
        self._commit(master, side, m, when, m, when + timedelta(hours=6), msg)
        merged = {p: topic.files[p] for p in sorted(touched)}
        name = f"topic-{rng.choice(content.NOUNS)}-{u.time.year}"
        done = when + timedelta(days=1)
        self._commit(
            master,
            merged,
            m,
            done,
            m,
            done,
            f"Merge branch '{name}' into master\n\n{self._sob(m, done)}\n",
            (topic.head,),
        )  # type: ignore[arg-type]
        self._bump("merges")

    def _reviews(self, u: Unit, author: Person, post: datetime, n: int) -> list[Review]:
        rng = self.rng
        if u.fate == "ignored":
            return []
        count = rng.choices([0, 1, 2, 3], [0.12, 0.4, 0.32, 0.16])[0]
        pool = self._correspondents(u.time.year, author)
        reviews = []
        for sender in rng.sample(pool, min(count, len(pool))):
            hours = min(rng.expovariate(1 / 20), 24 if u.boundary else 120)
            kind = rng.choices(KINDS, [0.4, 0.3, 0.1, 0.2])[0] if u.fate == "merged" else None
            target = 0 if rng.random() < 0.5 else rng.randint(1, n)
            named = sender
            if kind and rng.random() < 0.04:
                # Forwarding a colleague's ack: the trailer names someone else.
                colleagues = [
                    p
                    for p in pool
                    if p is not sender and p.stints[0].organization == sender.stints[0].organization
                ]
                if colleagues:
                    named = rng.choice(colleagues)
            reviews.append(
                Review(sender, post + timedelta(hours=hours, minutes=rng.randint(1, 59)), target, kind, named)
            )
        return sorted(reviews, key=lambda r: r.when)

    def _do_series(self, u: Unit) -> None:
        rng, spec, writer = self.rng, self.spec, self.writer
        master = writer.master
        author = self._pick_author(u.time)
        n = 1 if u.boundary else u.n
        authored0 = u.time
        if u.boundary:
            authored0 = datetime(u.time.year, 12, 30, 10, tzinfo=ml.tz(author))
        post = authored0 + (
            timedelta(days=rng.randint(7, 25)) if u.version > 1 else timedelta(minutes=rng.randint(20, 2000))
        )
        if u.boundary:
            post = authored0 + timedelta(hours=1)

        # File changes for every patch, on a scratch copy of the tree.
        scratch = dict(master.files)
        patches: list[dict[str, Content | None]] = []
        originals: list[dict[str, Content]] = []
        for _ in range(n):
            changes = self._change(scratch, u.scope, allow_new=u.fate == "merged")
            originals.append({p: scratch[p] for p in changes if p in scratch})
            patches.append(changes)
            scratch.update({p: c for p, c in changes.items() if c is not None})
        subjects = [self._subject(ch) for ch in patches]
        descriptions = [self._description() for _ in patches]
        series_subject = self._subject(patches[0]) if n > 1 else subjects[0]
        kind = rng.choices(["plain", "rfc", "resend"], [0.88, 0.07, 0.05])[0]
        tag = spec.list_tag if spec.list_tag and rng.random() < 0.15 else None

        # Earlier versions: posted, superseded, never merged.
        for version in range(1, u.version):
            when = authored0 + timedelta(hours=1 + 24 * 5 * (version - 1))
            diffs = []
            for ch, orig in zip(patches, originals, strict=True):
                path = next((p for p in ch if p in orig), None)
                if path is None:
                    diffs.append(adhoc_patch("README", (), ("placeholder",)))
                    continue
                diffs.append(adhoc_patch(path, orig[path], content.edit(rng, path, orig[path])))  # type: ignore[arg-type]
            posted = self._post(
                author,
                when,
                version,
                kind,
                tag,
                series_subject,
                subjects,
                descriptions,
                diffs,
                [[] for _ in patches],
                n,
            )
            first = posted[1] if n > 1 else posted[0]
            self.mails.append(
                ml.reply(
                    rng,
                    first,
                    author,
                    when + timedelta(days=2),
                    "Thanks for the reviews, I'll fold this into v" + str(version + 1) + ".",
                    list_tag=tag,
                )
            )
            self._bump("superseded_versions")

        reviews = self._reviews(u, author, post, n)
        pre_trailers: list[list[str]] = []
        for _ in range(n):
            pre: list[str] = []
            if rng.random() < 0.08:
                reporter = rng.choice(self._correspondents(u.time.year, author))
                pre.append(ml.trailer("Reported-by", reporter.name, reporter.mail_address))
            elif spec.scoped and rng.random() < 0.03:
                pre.append(f"Reported-by: {ml.SYZBOT[1]}")
            if rng.random() < 0.15:
                cc = rng.choice(self._correspondents(u.time.year, author))
                pre.append(ml.trailer("Cc", cc.name, cc.mail_address))
            pre.append(self._sob(author, authored0))
            pre_trailers.append(pre)

        if u.fate != "merged":
            diffs = []
            for ch, orig in zip(patches, originals, strict=True):
                diffs.append(
                    "".join(adhoc_patch(p, orig[p], ch[p]) for p in ch if p in orig and ch[p] is not None)
                )  # type: ignore[arg-type]
            posted = self._post(
                author,
                post,
                u.version,
                kind,
                tag,
                series_subject,
                subjects,
                descriptions,
                diffs,
                pre_trailers,
                n,
            )
            self._post_reviews(posted, reviews, author, tag, rejected=u.fate == "rejected")
            self._bump(f"series_{u.fate}")
            return

        committer = self._pick_committer(author)
        last = max([r.when for r in reviews], default=post)
        committed = last + timedelta(hours=rng.randint(2, 24 * 6))
        if u.boundary:
            committed = datetime(u.time.year + 1, 1, 3, 9, 30, tzinfo=ml.tz(committer))
        link_ids = self._message_ids(author, post, n)
        shas: list[pygit2.Oid] = []
        for i, changes in enumerate(patches, start=1):
            trailers = list(pre_trailers[i - 1])
            for r in reviews:
                if r.kind and r.target in (0, i):
                    trailers.append(ml.trailer(r.kind, r.named.name, r.named.mail_address))
            if rng.random() < 0.06:
                # A second ack from someone who acked off-list.
                extra = rng.choice(self._correspondents(u.time.year, author))
                trailers.append(ml.trailer("Acked-by", extra.name, extra.mail_address))
            if rng.random() < spec.link_rate:
                trailers.append("Link: " + ml.LORE + link_ids[i if n > 1 else 0].strip("<>"))
            if committer is not author:
                trailers.append(self._sob(committer, committed))
            message = f"{subjects[i - 1]}\n\n{descriptions[i - 1]}\n\n" + "\n".join(trailers) + "\n"
            authored = authored0 + timedelta(minutes=2 * i)
            shas.append(
                self._commit(
                    master, changes, author, authored, committer, committed + timedelta(seconds=i), message
                )
            )
        diffs = [writer.patch_text(sha) for sha in shas]
        posted = self._post(
            author,
            post,
            u.version,
            kind,
            tag,
            series_subject,
            subjects,
            descriptions,
            diffs,
            pre_trailers,
            n,
            link_ids,
        )
        self._post_reviews(posted, reviews, author, tag, rejected=False)
        if rng.random() < 0.5:
            self.mails.append(
                ml.reply(
                    rng,
                    posted[0],
                    committer,
                    committed + timedelta(minutes=5),
                    "Applied, thanks!",
                    list_tag=tag,
                )
            )
        if not spec.scoped and rng.random() < 0.4:
            summary = "\n".join(
                f"  - {s}\n    {spec.repo_url.replace('.git', '')}/c/{str(sha)[:12]}"
                for s, sha in zip(subjects, shas, strict=True)
            )
            body = f"Hello:\n\nThis series was applied to {spec.repo_name}.git (master)\nby {committer.name}:\n\nHere is the summary with links:\n{summary}\n\nYou are awesome, thank you!\n"
            self.mails.append(
                ml.bot_mail(
                    rng,
                    ml.PATCHWORK_BOT,
                    committed + timedelta(minutes=30),
                    "Re: " + posted[0].subject,
                    body,
                    spec.list_address,
                    posted[0],
                )
            )
        self._bump("series_merged")
        self._bump("commits_posted", n)

    def _message_ids(self, author: Person, post: datetime, n: int) -> list[str]:
        serial = self.rng.randint(10000, 999999)
        stamp = post.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        count = n + 1 if n > 1 else 1
        return [f"<{stamp}.{serial}-{i + 1}-{author.mail_address}>" for i in range(count)]

    def _post(
        self,
        author: Person,
        post: datetime,
        version: int,
        kind: str,
        tag: str | None,
        series_subject: str,
        subjects: list[str],
        descriptions: list[str],
        diffs: list[str],
        trailers: list[list[str]],
        n: int,
        ids: list[str] | None = None,
    ) -> list[Mail]:
        """Post a series: cover letter (when n > 1) then patches as replies to it."""
        rng = self.rng
        ids = ids or self._message_ids(author, post, n)
        when = post.astimezone(ml.tz(author))
        lead = f"{tag} " if tag else ""
        posted: list[Mail] = []
        if n > 1:
            cover = Mail(
                author.mail_name,
                author.mail_address,
                when,
                f"{lead}{ml.patch_prefix(rng, version, 0, n, kind)} {series_subject}",
                ml.with_signature(ml.cover_body(rng, series_subject, n, version, version > 1), author),
                ids[0],
                to=self.spec.list_address,
            )
            posted.append(cover)
        for i in range(n):
            mid = ids[i + 1] if n > 1 else ids[0]
            body = ml.patch_body(descriptions[i], trailers[i] or [self._sob(author, post)], diffs[i])
            mail = Mail(
                author.mail_name,
                author.mail_address,
                when + timedelta(seconds=i + 1),
                f"{lead}{ml.patch_prefix(rng, version, i + 1, n, kind)} {subjects[i]}",
                body,
                mid,
                to=self.spec.list_address,
            )
            if n > 1:
                mail.in_reply_to, mail.references = ids[0], [ids[0]]
            posted.append(mail)
        self.mails.extend(posted)
        self._bump("patches_posted", n)
        return posted

    def _post_reviews(
        self, posted: list[Mail], reviews: list[Review], author: Person, tag: str | None, rejected: bool
    ) -> None:
        rng = self.rng
        for r in reviews:
            parent = posted[min(r.target, len(posted) - 1)]
            trailers: list[str] = []
            if r.kind:
                trailers.append(ml.trailer(r.kind, r.named.name, r.named.mail_address))
            text = rng.choice(ml.COMMENTS[8:] if rejected else ml.COMMENTS[:8])
            if r.named is not r.sender:
                text = f"Forwarding on behalf of {r.named.name}, whose mail setup is broken this week:"
                self._bump("forwarded_trailers")
            reply = ml.reply(rng, parent, r.sender, r.when, text, trailers, tag)
            self.mails.append(reply)
            if rng.random() < 0.35:
                self.mails.append(
                    ml.reply(
                        rng,
                        reply,
                        author,
                        r.when + timedelta(hours=rng.randint(1, 30)),
                        "Thanks for the review!",
                        list_tag=tag,
                    )
                )

    def _do_discussion(self, u: Unit) -> None:
        rng = self.rng
        pool = self._correspondents(u.time.year)
        starter = rng.choice(pool)
        body = self._description() + "\n\nAny thoughts?\n"
        if rng.random() < 0.05:
            # A body line starting with "From " (escaped as ">From " in the mbox).
            body = "From what I can tell the old behaviour was never documented.\n\n" + body
            self._bump("from_lines")
        subject = rng.choice(ml.QUESTIONS)
        if self.spec.list_tag and rng.random() < 0.2:
            subject = f"{self.spec.list_tag} {subject}"
        root = Mail(
            starter.mail_name,
            starter.mail_address,
            u.time.astimezone(ml.tz(starter)),
            subject,
            ml.with_signature(body, starter),
            ml.message_id(rng, u.time, starter.mail_address),
            to=self.spec.list_address,
        )
        self.mails.append(root)
        thread = [root]
        when = u.time
        for _ in range(rng.choices([0, 1, 2, 3, 5], [0.2, 0.3, 0.25, 0.15, 0.1])[0]):
            when += timedelta(hours=rng.expovariate(1 / 10))
            sender = rng.choice(pool)
            parent = rng.choice(thread)
            text = rng.choice(ml.COMMENTS[3:]) + "\n\n" + self._description()
            thread.append(ml.reply(rng, parent, sender, when, text, list_tag=self.spec.list_tag))
            self.mails.append(thread[-1])
        self._bump("discussions")

    def _do_pull(self, u: Unit) -> None:
        if len(self.history) < 12:
            return
        m = self.maintainers[0]
        base, head = self.history[-12], self.history[-1]
        shortlog = [subject for _, subject, _ in self.history[-11:]]
        body = ml.pull_request_body(
            str(base[0]), base[1], base[2], self.spec.repo_url, f"for-{u.time:%Y%m}", str(head[0]), shortlog
        )
        when = u.time.astimezone(ml.tz(m))
        self.mails.append(
            Mail(
                m.mail_name,
                m.mail_address,
                when,
                f"[GIT PULL] {self.spec.key} changes for {u.time:%Y-%m}",
                body,
                ml.message_id(self.rng, u.time, m.mail_address),
                to=self.spec.list_address,
            )
        )
        self._bump("pull_requests")

    def _do_syzbot(self, u: Unit) -> None:
        rng = self.rng
        fn = f"kvm_{rng.choice(content.VERBS)}_{rng.choice(content.NOUNS)}"
        body = (
            f"Hello,\n\nsyzbot found the following issue on:\n\nHEAD commit:    {str(self.history[-1][0])[:12]}\n"
            f"\nBUG: KASAN: use-after-free Read in {fn}\n\nIMPORTANT: if you fix the issue, please add the following tag to the commit:\n"
            f"Reported-by: {ml.SYZBOT[1]}\n"
        )
        report = ml.bot_mail(
            rng,
            ml.SYZBOT,
            u.time,
            f"[syzbot] KASAN: use-after-free Read in {fn}",
            body,
            self.spec.list_address,
        )
        self.mails.append(report)
        if rng.random() < 0.5:
            m = rng.choice(self.maintainers)
            self.mails.append(
                ml.reply(
                    rng,
                    report,
                    m,
                    u.time + timedelta(hours=rng.randint(2, 72)),
                    "Looking into it; this is probably the missing lock in the slot update path.",
                )
            )
        self._bump("syzbot_reports")
