"""The scoring standard's confidentiality check at load time."""

from __future__ import annotations

import os
import shutil

import pytest

from factors.standard import DEFAULT_STANDARD_PATH
from streams.errors import ConfigError
from streams.model import load_model


@pytest.mark.parametrize(
    ("mode", "own_group", "accepted"),
    [(0o600, True, True), (0o400, True, True), (0o640, True, True), (0o644, True, False), (0o604, True, False), (0o640, False, False), (0o660, False, False)],
)
def test_a_standard_readable_by_other_users_is_refused(tmp_path, mode, own_group, accepted):
    path = tmp_path / "standard.toml"
    shutil.copy(DEFAULT_STANDARD_PATH, path)
    os.chmod(path, mode)
    if not own_group:
        foreign = next(g for g in range(60_000, 61_000) if g != os.getegid() and g not in os.getgroups())
        os.chown(path, -1, foreign)
    if accepted:
        assert load_model(path).version.startswith("default-2026.11+")
    else:
        with pytest.raises(ConfigError, match="readable by other users") as err:
            load_model(path)
        assert "timezone" not in str(err.value)  # the message names the file, never its contents
        assert load_model(path, allow_readable=True).version  # an explicit, deliberate opt-out


def test_the_packaged_default_is_public_and_always_accepted():
    assert load_model().path == DEFAULT_STANDARD_PATH
