"""``generate()``: write the whole sample (repositories, mailboxes, identity files, config, manifest)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import yaml

from commstats.sample.edge_cases import add_edge_cases
from commstats.sample.git_history import RepoWriter
from commstats.sample.identities import primary_address, write_identities
from commstats.sample.mbox import sort_key, write_mbox
from commstats.sample.people import build_people
from commstats.sample.projects import KVM_PATHS, minikernel_spec, vmcore_spec
from commstats.sample.simulate import ProjectSim

DEFAULT_SEED = 20240101

# Everything generate() owns inside out_dir; only these are ever deleted.
OWNED = [
    "repos/vmcore.git",
    "repos/minikernel.git",
    "mail/vmcore-devel.mbox",
    "mail/kvm.mbox",
    "identities/mailmap",
    "identities/aliases.yaml",
    "identities/affiliations.yaml",
    "communities.yaml",
    "manifest.json",
]


def _clear(out_dir: Path) -> None:
    for rel in OWNED:
        path = out_dir / rel
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _config() -> dict:
    return {
        "warehouse": "warehouse.duckdb",
        "output_dir": "output",
        "cache_dir": "cache",
        "period_date": "author",
        "projects": {
            "vmcore": {
                "title": "VMCore (sample)",
                "mailing_lists": [{"name": "vmcore-devel", "kind": "mbox", "path": "mail/vmcore-devel.mbox"}],
                "repositories": [{"name": "vmcore", "path": "repos/vmcore.git", "branch": "master"}],
            },
            "kernel-virt": {
                "title": "Kernel virtualization (sample)",
                "mailing_lists": [{"name": "kvm", "kind": "mbox", "path": "mail/kvm.mbox"}],
                "repositories": [
                    {
                        "name": "minikernel",
                        "path": "repos/minikernel.git",
                        "branch": "master",
                        "paths": KVM_PATHS,
                    }
                ],
            },
        },
        "identities": {
            "mailmap": ["identities/mailmap"],
            "aliases": ["identities/aliases.yaml"],
            "affiliations": ["identities/affiliations.yaml"],
            "gitdm_maps": [],
        },
    }


def generate(out_dir: Path, seed: int = DEFAULT_SEED) -> dict:
    """Write the sample communities into ``out_dir`` and return a summary (also in manifest.json).

    A pure function of ``seed``: two runs give the same commit SHAs and byte-identical mboxes.
    Only the paths listed in ``OWNED`` are replaced; anything else in ``out_dir`` is left alone.
    """
    out_dir = Path(out_dir)
    _clear(out_dir)
    for sub in ("repos", "mail", "identities"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    people = build_people(random.Random(seed))
    summary: dict = {"seed": seed, "repositories": {}, "mailing_lists": {}}
    for i, spec in enumerate([vmcore_spec(), minikernel_spec()]):
        rng = random.Random(seed * 10 + i)
        writer = RepoWriter(out_dir / "repos" / f"{spec.repo_name}.git")
        sim = ProjectSim(spec, people, rng, writer)
        sim.run()
        edge = add_edge_cases(rng, sim.mails, sim.members, spec.list_address, 2019 + 2 * i)
        mails = sorted(sim.mails, key=sort_key)
        count = write_mbox(out_dir / "mail" / f"{spec.list_name}.mbox", mails)
        summary["repositories"][spec.repo_name] = {
            "project": spec.key,
            "commits": writer.commits,
            "head": str(writer.master.head),
            "maintainers": [m.name for m in sim.maintainers],
            **{
                k: v
                for k, v in sorted(sim.stats.items())
                if not k.startswith(("discussions", "pull", "syzbot", "patches"))
            },
        }
        summary["mailing_lists"][spec.list_name] = {
            "project": spec.key,
            "messages": count,
            "patches_posted": sim.stats.get("patches_posted", 0),
            "discussions": sim.stats.get("discussions", 0),
            "pull_requests": sim.stats.get("pull_requests", 0),
            "syzbot_reports": sim.stats.get("syzbot_reports", 0),
            "forwarded_trailers": sim.stats.get("forwarded_trailers", 0),
            "edge_cases": edge,
        }

    write_identities(out_dir / "identities", people)
    (out_dir / "communities.yaml").write_text(
        "# The built-in sample communities, written by `commstats sample`. Paths are relative to this file.\n"
        + yaml.safe_dump(_config(), sort_keys=False),
        encoding="utf-8",
    )
    organizations = sorted({s.organization for p in people for s in p.stints})
    summary["counts"] = {
        "commits": {name: r["commits"] for name, r in summary["repositories"].items()},
        "messages": {name: m["messages"] for name, m in summary["mailing_lists"].items()},
        "people": len(people),
        "organizations": len(organizations),
    }
    summary["organizations"] = organizations
    summary["people"] = [
        {
            "name": p.name,
            "mail_name": p.mail_name,
            "primary_address": primary_address(p),
            "addresses": p.addresses,
            "projects": list(p.projects),
            "commits": p.commits,
            "active": [p.first_year, p.last_year],
            "organizations": [
                {
                    "organization": s.organization,
                    "from": s.start.isoformat() if s.start else None,
                    "until": s.end.isoformat() if s.end else None,
                }
                for s in p.stints
            ],
        }
        for p in people
    ]
    (out_dir / "manifest.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary
