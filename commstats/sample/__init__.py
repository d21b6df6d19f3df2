"""The built-in sample communities (``commstats sample``): deterministic, generated, offline.

``generate(out_dir, seed)`` writes two projects that look like small open-source communities:

* ``vmcore``: a standalone repository (``repos/vmcore.git``) and its list (``mail/vmcore-devel.mbox``);
* ``kernel-virt``: the KVM part of a Linux-like tree (``repos/minikernel.git``, scoped by paths) and
  its list (``mail/kvm.mbox``);

plus ``identities/`` (mailmap, aliases.yaml, affiliations.yaml), ``communities.yaml`` and
``manifest.json``. Git history and mail come from the same changes, so merged patches on the list
have the same patch-id as their commits. Output is a pure function of the seed.
"""

from commstats.sample.writer import DEFAULT_SEED, generate

__all__ = ["DEFAULT_SEED", "generate"]
