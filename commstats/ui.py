"""`commstats ui`: the Dagster webserver and daemon over this workspace, with a persistent instance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from commstats.config import REPO_ROOT, CommunitiesConfig
from commstats.instance import ensure_instance


def start_ui(cfg: CommunitiesConfig, cfg_file: Path, host: str = "127.0.0.1", port: int = 3000) -> int:
    home = ensure_instance(cfg)
    env = {**os.environ, "DAGSTER_HOME": str(home), "COMMSTATS_CONFIG": str(cfg_file)}
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
    print(f"commstats ui: http://{host}:{port}  (instance: {home}; stop with Ctrl-C)")
    try:
        return subprocess.call(cmd, env=env, cwd=REPO_ROOT)
    except KeyboardInterrupt:
        return 0
