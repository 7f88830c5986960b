"""The filing stage dates reports in the customer stage's business-day timezone, or refuses to
start: one line, exit 2 (finding: the filings config had a timezone of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from filings.config import DEFAULT_CONFIG_PATH, load_config
from filings.errors import FilingConfigError
from filings.worker import check_timezone
from streams.model import open_model
from streams.settings import load_settings

ROOT = Path(__file__).resolve().parents[3]


def filings(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    return subprocess.run([sys.executable, "-m", "streams.cli", "filings", *args], env=base | env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def utc_config(tmp_path: Path) -> Path:
    path = tmp_path / "filings.toml"
    path.write_text(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace('timezone = "Asia/Shanghai"', 'timezone = "UTC"'), encoding="utf-8")
    return path


def test_a_timezone_override_the_filings_config_does_not_share_is_refused():
    settings = load_settings({"AMLSTREAM_TIMEZONE": "UTC"})
    with pytest.raises(FilingConfigError, match="differs from the business-day timezone UTC of AMLSTREAM_TIMEZONE"):
        check_timezone(load_config(), settings, open_model(settings))
    settings = load_settings({})
    check_timezone(load_config(), settings, open_model(settings))  # both Asia/Shanghai


def test_check_config_refuses_a_mismatch_in_one_line(tmp_path):
    config = utc_config(tmp_path)
    mismatch = filings("check-config", str(config))
    assert mismatch.returncode == 2 and "Traceback" not in mismatch.stderr
    assert mismatch.stderr.splitlines() == [
        "amlstream filings: the filings config's timezone UTC differs from the business-day timezone Asia/Shanghai of the scoring standard's timezone "
        "(default.toml): set both to the bank's (reports would be dated and their deadlines counted on other days than the customer stage's)"
    ]
    agreed = filings("check-config", str(config), AMLSTREAM_TIMEZONE="UTC")
    assert agreed.returncode == 0 and agreed.stdout.startswith("ok: "), agreed.stderr


def test_render_refuses_before_writing_anything(tmp_path):
    out = tmp_path / "out"
    result = filings("render", "--out", str(out), AMLSTREAM_TIMEZONE="UTC")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "AMLSTREAM_TIMEZONE" in result.stderr
    assert not out.exists()
