"""Hot reload uses exactly the start-up validation: a changed file with any mistake is refused,
listed in the log with its TOML paths, counted, and the running standard stays."""

from __future__ import annotations

import logging

import pytest

from streams.settings import Settings
from streams.worker import ModelWatcher, open_model
from tests.standard_mutations import MUTATIONS, Mutation, default_text, mutated


@pytest.fixture
def watched(tmp_path):
    path = tmp_path / "standard.toml"
    path.write_text(default_text(), encoding="utf-8")
    path.chmod(0o600)
    settings = Settings(model_config_file=path)
    changes: list[str] = []
    refused: list[int] = []
    watcher = ModelWatcher(settings, open_model(settings), lambda m: changes.append(m.version), lambda: refused.append(1))
    return path, watcher, changes, refused


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_a_changed_file_with_a_mistake_is_refused_and_the_old_standard_kept(watched, mutation: Mutation, caplog):
    path, watcher, changes, refused = watched
    running = watcher.model
    path.write_text(mutated(mutation), encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="amlstream.worker"):
        watcher.check(force=True)
    assert watcher.model is running and changes == [] and refused == [1]
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith(f"new model config refused, keeping {running.version}: 1 problem(s): model config {path}: {mutation.path}: ")
    if mutation.secret:
        assert mutation.secret not in message.replace(str(path), "FILE")


def test_a_valid_change_after_a_refused_one_is_applied(watched):
    path, watcher, changes, refused = watched
    path.write_text(mutated(*MUTATIONS), encoding="utf-8")
    watcher.check(force=True)
    path.write_text(default_text().replace('version = "default-2026.11"', 'version = "bank-2026.12"'), encoding="utf-8")
    watcher.check(force=True)
    assert refused == [1] and len(changes) == 1 and changes[0].startswith("bank-2026.12+") and watcher.model.version == changes[0]


def test_an_unchanged_file_is_not_reloaded(watched):
    _path, watcher, changes, refused = watched
    watcher.check()
    assert changes == [] and refused == []
