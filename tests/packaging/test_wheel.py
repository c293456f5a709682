"""A built wheel works without the source tree: code, prompts, skills, CLI and sandbox all come from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_is_self_contained(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(dist)],
                   check=True, capture_output=True, text=True)
    (wheel,) = dist.glob("agent_billing-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "agent_billing/_data/prompts/system.en.md" in names
    assert "agent_billing/_data/skills/wallet/SKILL.md" in names
    assert "agent_billing/_data/SKILL.md" in names
    assert not any(name.startswith(("tests/", "plugin/")) for name in names)

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, text=True)
    script = (
        "import agent_billing, sys\n"
        f"assert agent_billing.__file__.startswith({str(site)!r}), agent_billing.__file__\n"
        "from agent_billing.prompts import load_prompt\n"
        "assert 'payment' in load_prompt('voice', 'zh') and 'payment' in load_prompt()\n"
        "from agent_billing.resources import data_path\n"
        "assert data_path('skills', 'wallet', 'SKILL.md').is_file()\n"
        "from agent_billing.inprocess import sandbox_clients\n"
        "from agent_billing.sandbox import create_app\n"
        "client, _ = sandbox_clients(create_app())\n"
        "assert str(client.get_wallet_balance().balance) == '0.00'\n"
        "from agent_billing.cli import main\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
