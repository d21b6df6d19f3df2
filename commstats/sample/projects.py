"""The two sample projects: their file layout, scope, mailing list and activity profile."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

KVM_PATHS = ["virt/", "arch/*/kvm/", "include/linux/kvm*.h"]


def in_kvm_scope(path: str) -> bool:
    """The kernel-virt path filter, read the way the config means it: directories or globs."""
    for pattern in KVM_PATHS:
        if pattern.endswith("/"):
            if fnmatch.fnmatch(path, pattern + "*") or path.startswith(pattern):
                return True
        elif fnmatch.fnmatch(path, pattern):
            return True
    return False


@dataclass
class ProjectSpec:
    key: str  # project key in communities.yaml
    repo_name: str
    list_name: str
    list_address: str
    list_tag: str | None  # mailman-style subject tag on some messages
    target_commits: int
    files: dict[str, int]  # initial text files -> number of functions
    binaries: list[str]
    scoped: bool  # True: only part of the repository is the project
    boost_org: str  # the dominant organization ...
    boost: dict[int, float]  # ... and its weight per author, per year
    year_weights: dict[int, float] = field(
        default_factory=lambda: {2019: 0.10, 2020: 0.12, 2021: 0.15, 2022: 0.18, 2023: 0.21, 2024: 0.24}
    )
    link_rate: float = 0.45
    repo_url: str = ""

    def in_scope(self, path: str) -> bool:
        return in_kvm_scope(path) if self.scoped else True

    def subject_prefix(self, path: str) -> str:
        if not self.scoped:
            parts = path.split("/")
            if parts[0] in ("include", "tests", "docs"):
                return f"{parts[0]}: "
            if parts[0] == "src":
                return parts[1].split(".")[0] + ": "
            return "/".join(parts[:2]).split(".")[0] + ": "
        if path.startswith("arch/x86/kvm/"):
            return "KVM: x86: "
        if path.startswith("arch/arm64/kvm/"):
            return "KVM: arm64: "
        if path.startswith("arch/s390/kvm/"):
            return "KVM: s390: "
        if in_kvm_scope(path):
            return "KVM: "
        if path.startswith("arch/x86/mm/"):
            return "x86/mm: "
        if path.startswith("drivers/net/"):
            return "net: " + path.split("/")[2].split(".")[0] + ": "
        return path.split("/")[0 if not path.startswith("fs/") else 1] + ": "


def vmcore_spec() -> ProjectSpec:
    files = {
        f: 6
        for f in [
            "src/main.c",
            "src/cpu.c",
            "src/memory.c",
            "src/migration.c",
            "src/monitor.c",
            "hw/virtio/virtio-net.c",
            "hw/virtio/virtio-blk.c",
            "hw/pci/pci.c",
            "hw/char/serial.c",
            "hw/timer/hpet.c",
            "accel/kvm/kvm-all.c",
            "accel/tcg/translate.c",
            "block/qcow2.c",
            "block/raw.c",
            "net/tap.c",
            "tests/unit/test-memory.c",
            "tests/unit/test-migration.c",
            "include/vmcore/memory.h",
            "include/vmcore/cpu.h",
            "include/hw/pci.h",
        ]
    }
    return ProjectSpec(
        key="vmcore",
        repo_name="vmcore",
        list_name="vmcore-devel",
        list_address="vmcore-devel@lists.example.org",
        list_tag="[Vmcore-devel]",
        target_commits=1200,
        files=files,
        binaries=["pc-bios/vmcore-bios.bin"],
        scoped=False,
        boost_org="Red Hat",
        # Red Hat dominates (elephant factor 1) in 2019, 2020 and 2023; 2+ in the other years.
        boost={2019: 9.0, 2020: 7.0, 2021: 1.2, 2022: 1.0, 2023: 14.0, 2024: 1.0},
        repo_url="https://git.example.org/vmcore.git",
    )


def minikernel_spec() -> ProjectSpec:
    kvm = [
        "virt/kvm/kvm_main.c",
        "virt/kvm/eventfd.c",
        "virt/kvm/irqchip.c",
        "virt/kvm/dirty_ring.c",
        "virt/kvm/async_pf.c",
        "arch/x86/kvm/x86.c",
        "arch/x86/kvm/mmu.c",
        "arch/x86/kvm/vmx.c",
        "arch/x86/kvm/svm.c",
        "arch/x86/kvm/lapic.c",
        "arch/x86/kvm/emulate.c",
        "arch/arm64/kvm/arm.c",
        "arch/arm64/kvm/mmu.c",
        "arch/arm64/kvm/vgic.c",
        "arch/s390/kvm/kvm-s390.c",
        "arch/s390/kvm/interrupt.c",
        "arch/s390/kvm/gaccess.c",
        "include/linux/kvm_host.h",
        "include/linux/kvm_types.h",
    ]
    other = [
        "drivers/net/e1000.c",
        "drivers/net/virtio_net.c",
        "drivers/net/tun.c",
        "fs/ext4/inode.c",
        "fs/ext4/super.c",
        "fs/ext4/extents.c",
        "mm/memory.c",
        "mm/page_alloc.c",
        "mm/mmap.c",
        "mm/huge_memory.c",
        "arch/x86/mm/fault.c",
        "arch/x86/mm/init.c",
        "arch/x86/mm/pat.c",
        "include/linux/mm_types.h",
    ]
    return ProjectSpec(
        key="kernel-virt",
        repo_name="minikernel",
        list_name="kvm",
        list_address="kvm@vger.example.org",
        list_tag=None,
        target_commits=2000,
        files={f: 6 for f in kvm + other},
        binaries=["virt/kvm/testdata/guest.bin", "firmware/e1000.bin"],
        scoped=True,
        boost_org="Red Hat",
        boost={2019: 2.0, 2020: 2.0, 2021: 1.5, 2022: 1.5, 2023: 1.2, 2024: 1.2},
        link_rate=0.55,
        repo_url="https://git.example.org/virt/kvm/kvm.git",
    )
