"""configs/virtualization.yaml: valid and loadable offline."""

from __future__ import annotations

from core.config import REPO_ROOT, load_config


def test_virtualization_config_loads(monkeypatch) -> None:
    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    cfg = load_config(REPO_ROOT / "configs" / "virtualization.yaml")
    assert sorted(cfg.projects) == ["kvm", "qemu", "xen"]
    lists = {key: [(ml.name, ml.kind, ml.url) for ml in p.mailing_lists] for key, p in cfg.projects.items()}
    assert lists == {
        "kvm": [("kvm", "public-inbox", "https://lore.kernel.org/kvm")],
        "qemu": [("qemu-devel", "public-inbox", "https://lore.kernel.org/qemu-devel")],
        "xen": [("xen-devel", "public-inbox", "https://lore.kernel.org/xen-devel")],
    }
    repos = {key: [(r.name, r.url) for r in p.repositories] for key, p in cfg.projects.items()}
    assert repos["kvm"] == [("linux", "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git")]
    assert repos["qemu"] == [("qemu", "https://gitlab.com/qemu-project/qemu.git")]
    assert repos["xen"] == [("xen", "https://xenbits.xen.org/git-http/xen.git")]
    assert "arch/*/kvm/" in cfg.projects["kvm"].repositories[0].paths
    data = (REPO_ROOT / "data" / "virtualization").resolve()
    for path in (cfg.warehouse, cfg.output_dir, cfg.cache_dir):
        assert path.resolve().parent == data
