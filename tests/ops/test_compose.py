"""docker-compose.yml and the worker image, checked offline against the application (no Docker)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.ops.helpers import (
    COMPOSE,
    DOCKERFILE,
    IMAGE_ENTRYPOINT,
    PROMETHEUS,
    ROOT,
    amlstream_calls,
    check_adapter_settings,
    check_cli,
    check_filing_settings,
    check_settings,
    load_yaml,
)

LONG_RUNNING = ("kafka", "redis", "worker-1", "worker-2", "filings", "network-worker", "iso20022-adapter", "prometheus", "grafana")
WORKERS = ("worker-1", "worker-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def argv(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def dockerfile_exec(keyword: str) -> list[str]:
    values = [rest for kw, rest in dockerfile_instructions() if kw == keyword]
    assert values, f"Dockerfile has no {keyword}"
    return json.loads(values[-1])  # exec form: a JSON array


def uses_app_image(service: dict[str, Any]) -> bool:
    return "build" in service


def command_line(service: dict[str, Any]) -> list[str]:
    """What the container runs: the service's entrypoint/command over the image's."""
    entrypoint = argv(service.get("entrypoint"))
    command = argv(service.get("command"))
    if entrypoint is None:
        entrypoint = dockerfile_exec("ENTRYPOINT")
        if command is None:
            command = dockerfile_exec("CMD")
    return entrypoint + (command or [])


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            mounts.append((source, target))
    return mounts


# --- structure ---------------------------------------------------------------------------------


def test_every_expected_service_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= {"kafka", "redis", "topics", *WORKERS, "filings", "network-worker", "iso20022-adapter", "generator", "prometheus", "grafana"}


def test_every_service_has_an_image_and_app_services_build_the_worker_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("image"), f"{name}: no image"
        if uses_app_image(service):
            build = service["build"]
            context = ROOT / build["context"]
            assert context.resolve() == ROOT, f"{name}: the build context must be the project root (pyproject.toml)"
            assert (context / build["dockerfile"]).resolve() == DOCKERFILE, f"{name}: builds {build['dockerfile']}"
            assert service["image"] == services["worker-1"]["image"], f"{name}: one image for all amlstream services"


def test_third_party_images_are_the_intended_ones(services: dict[str, dict[str, Any]]) -> None:
    assert services["kafka"]["image"] == "apache/kafka:4.1.0"
    assert re.fullmatch(r"redis:7(\.\d+)*(-\w+)?", services["redis"]["image"])
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    assert services["grafana"]["image"].startswith("grafana/grafana:")


def test_depends_on_targets_exist_and_their_conditions_can_be_met(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition", "service_started")
            assert condition in ("service_started", "service_healthy", "service_completed_successfully"), f"{name} -> {target}: {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy but it has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} is one-shot: it must not restart"


def test_long_running_services_have_healthchecks_and_restart(services: dict[str, dict[str, Any]]) -> None:
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck")
        assert check and check.get("test"), f"{name}: no healthcheck"
        assert services[name].get("restart") in ("always", "unless-stopped"), f"{name}: no restart policy"


def test_every_mounted_file_exists_and_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for source, target in bind_mounts(service):
            assert PurePosixPath(target).is_absolute(), f"{name}: mount target {target} is not absolute"
            if source.startswith(("./", "../", "/")):
                assert source.startswith("./"), f"{name}: {source} must be a path inside the repository"
                assert (ROOT / source).exists(), f"{name}: mounts {source}, which does not exist"
            else:
                assert source in declared, f"{name}: named volume {source} is not declared"


def test_workers_wait_for_kafka_redis_and_the_topics(services: dict[str, dict[str, Any]]) -> None:
    for name in WORKERS:
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["topics"]["condition"] == "service_completed_successfully"
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


# --- the application inside ----------------------------------------------------------------------


def test_app_services_run_real_cli_subcommands(services: dict[str, dict[str, Any]]) -> None:
    checked = 0
    for name, service in services.items():
        if not uses_app_image(service):
            continue
        line = command_line(service)
        if line[0] == IMAGE_ENTRYPOINT:
            check_cli(line[1:], name)
            checked += 1
        else:  # a shell script: every amlstream call in it must be valid
            assert line[:2] == ["/bin/sh", "-c"], f"{name}: runs {line[:2]}, neither amlstream nor a shell script"
            calls = amlstream_calls(line[2])
            assert calls, f"{name}: its script never calls amlstream"
            for call in calls:
                check_cli(call, name)
                checked += 1
    assert checked >= 4


def test_the_workers_topics_and_generator_run_what_the_stack_needs(services: dict[str, dict[str, Any]]) -> None:
    for name in WORKERS:
        assert command_line(services[name]) == ["amlstream", "worker"]
    topics = check_cli(command_line(services["topics"])[1:], "topics")
    assert (topics.command, topics.partitions) == ("create-topics", 6)
    script = command_line(services["generator"])[2]
    assert "while" in script and "sleep" in script, "the generator must produce in a loop"
    sample = check_cli(amlstream_calls(script)[0], "generator")
    assert (sample.command, sample.customers, sample.days) == ("produce-sample", 200, 3)


def test_every_amlstream_variable_is_a_setting_load_settings_accepts(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check_settings(env_of(service), f"compose service {name}")
        check_adapter_settings(env_of(service), f"compose service {name}")


def test_workers_share_one_consumer_group_and_reach_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    groups = set()
    for name in WORKERS:
        settings = check_settings(env_of(services[name]), name)
        groups.add(settings.group_id)
        assert settings.group_id == "amlstream"
        assert settings.bootstrap_servers == "kafka:9092"
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.metrics_port == 9464
    assert len(groups) == 1
    advertised = env_of(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    assert "PLAINTEXT://kafka:9092" in advertised.split(","), "the workers' bootstrap server must be an advertised listener"


def test_worker_healthcheck_hits_healthz_on_the_metrics_port(services: dict[str, dict[str, Any]]) -> None:
    for name in WORKERS:
        port = check_settings(env_of(services[name]), name).metrics_port
        test = " ".join(argv(services[name]["healthcheck"]["test"]) or [])
        assert f"http://localhost:{port}/healthz" in test


def test_kafka_is_a_single_kraft_node_and_redis_keeps_an_aof(services: dict[str, dict[str, Any]]) -> None:
    kafka = env_of(services["kafka"])
    assert set(kafka["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kafka['KAFKA_NODE_ID']}@kafka:9093"
    assert kafka["CLUSTER_ID"]
    redis = argv(services["redis"]["command"]) or []
    assert redis[redis.index("--appendonly") + 1] == "yes"


def test_prometheus_and_grafana_get_their_files_from_deploy(services: dict[str, dict[str, Any]]) -> None:
    prom = dict(bind_mounts(services["prometheus"]))
    config = next(arg.split("=", 1)[1] for arg in services["prometheus"]["command"] if arg.startswith("--config.file="))
    assert prom["./deploy/prometheus/prometheus.yml"] == config
    # rule files are resolved next to the config file inside the container
    for rule_file in load_yaml(PROMETHEUS / "prometheus.yml")["rule_files"]:
        assert str(PurePosixPath(config).parent / rule_file) in prom.values(), f"{rule_file} is not mounted next to {config}"
        assert prom[f"./deploy/prometheus/{rule_file}"] == str(PurePosixPath(config).parent / rule_file)
    grafana = dict(bind_mounts(services["grafana"]))
    assert grafana["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provider = load_yaml(ROOT / "deploy/grafana/provisioning/dashboards/amlstream.yml")["providers"][0]
    assert grafana["./deploy/grafana/dashboards"] == provider["options"]["path"], "the dashboard provider must read where the dashboards are mounted"
    datasource = load_yaml(ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"


# --- the image -----------------------------------------------------------------------------------


def test_dockerfile_builds_a_non_root_worker_image() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image must run as a non-root user"
    assert ("EXPOSE", "9464") in instructions
    assert dockerfile_exec("ENTRYPOINT") == [IMAGE_ENTRYPOINT]
    assert dockerfile_exec("CMD") == ["worker"]
    assert any(kw == "RUN" and re.search(r"\bpip install (--\S+ )*\.(\s|$)", rest) for kw, rest in instructions)


def test_dockerfile_copies_what_exists_and_the_entrypoint_is_the_package_script() -> None:
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts[IMAGE_ENTRYPOINT] == "streams.cli:main"
    check_cli(dockerfile_exec("CMD"), "Dockerfile CMD")


def test_the_build_context_filter_keeps_the_sources() -> None:
    lines = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert patterns[0] == "*", "exclude everything, then re-include the sources"
    copied = [source for kw, rest in dockerfile_instructions() if kw == "COPY" and "--from" not in rest for source in rest.split()[:-1]]
    for source in copied:
        assert f"!{source}" in patterns or f"!{source}/" in patterns, f"COPY {source}: excluded from the build context"


# --- the filing stage ------------------------------------------------------------------------------


def test_the_filing_worker_has_its_own_group_metrics_port_and_durable_outbox(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    filings = services["filings"]
    assert command_line(filings) == ["amlstream", "filings", "worker"]
    env = env_of(filings)
    settings = check_settings(env, "filings")
    fsettings = check_filing_settings(env, "filings")
    worker = check_settings(env_of(services["worker-1"]), "worker-1")
    assert (settings.bootstrap_servers, settings.redis_url) == (worker.bootstrap_servers, worker.redis_url), "the filing worker reads the workers' Kafka and Redis"
    assert fsettings.group_id != worker.group_id, "its own consumer group: it reads the same topics as the customer stage"
    assert fsettings.metrics_port != settings.metrics_port
    assert f"http://localhost:{fsettings.metrics_port}/healthz" in " ".join(argv(filings["healthcheck"]["test"]) or [])
    depends = filings["depends_on"]
    assert depends["kafka"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    assert depends["topics"]["condition"] == "service_completed_successfully"
    named = {target: source for source, target in bind_mounts(filings) if not source.startswith(".")}
    for path in (fsettings.outbox, fsettings.inbox):
        assert any(PurePosixPath(str(path)).is_relative_to(target) for target in named), f"{path}: files to submit must outlive the container (a named volume)"
    assert (filings.get("deploy") or {}).get("replicas", 1) == 1 and "scale" not in filings, "one filing writer per institution"


def test_the_topics_one_shot_creates_the_filing_stage_input() -> None:
    from streams.cli import _topics_for_provisioning
    from streams.settings import load_settings

    settings = load_settings({})
    assert settings.topics.case_decisions in {topic.name for topic in _topics_for_provisioning(settings, 6)}


def test_the_image_holds_every_package_and_a_writable_filings_directory(services: dict[str, dict[str, Any]]) -> None:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {rest.split()[0] for kw, rest in dockerfile_instructions() if kw == "COPY" and "--from" not in rest}
    for pattern in include:
        package = pattern.rstrip("*")
        assert package in copied, f"the image does not copy {package}/: `amlstream` imports it (pyproject includes {pattern})"
    runs = " ".join(rest for kw, rest in dockerfile_instructions() if kw == "RUN")
    (_, target), *_ = bind_mounts(services["filings"])
    assert re.search(rf"install -d -o amlstream -g amlstream {re.escape(target)}\b", runs), f"{target}: a new named volume takes its owner from the image"


# --- the network stage and the ISO 20022 adapter ----------------------------------------------------


def test_the_network_worker_reads_the_edges_the_workers_emit(services: dict[str, dict[str, Any]]) -> None:
    network = services["network-worker"]
    assert command_line(network) == ["amlstream", "network-worker"]
    settings = check_settings(env_of(network), "network-worker")
    worker = check_settings(env_of(services["worker-1"]), "worker-1")
    assert worker.network, "the workers emit edges (AMLSTREAM_NETWORK=1): the network worker is their reader"
    assert (settings.bootstrap_servers, settings.redis_url, settings.topics) == (worker.bootstrap_servers, worker.redis_url, worker.topics)
    filings = check_filing_settings(env_of(services["filings"]), "filings")
    assert settings.network_group_id not in (worker.group_id, filings.group_id), "its own consumer group"
    assert settings.network_metrics_port == 9466 and f"http://localhost:{settings.network_metrics_port}/healthz" in " ".join(argv(network["healthcheck"]["test"]) or [])
    depends = network["depends_on"]
    assert depends["kafka"]["condition"] == depends["redis"]["condition"] == "service_healthy"
    assert depends["topics"]["condition"] == "service_completed_successfully"
    assert network.get("stop_grace_period") == services["worker-1"]["stop_grace_period"], "SIGTERM finishes the batch in flight, as for the workers"


def test_the_iso20022_adapter_has_its_own_group_and_metrics_port(services: dict[str, dict[str, Any]]) -> None:
    adapter = services["iso20022-adapter"]
    assert command_line(adapter) == ["amlstream", "iso20022", "adapter"]
    env = env_of(adapter)
    settings = check_settings(env, "iso20022-adapter")
    adapter_settings = check_adapter_settings(env, "iso20022-adapter")
    worker = check_settings(env_of(services["worker-1"]), "worker-1")
    assert (settings.bootstrap_servers, settings.topics) == (worker.bootstrap_servers, worker.topics), "it produces to the workers' transactions topic"
    assert adapter_settings.group_id not in (worker.group_id, worker.network_group_id), "its own consumer group"
    ports = {worker.metrics_port, worker.network_metrics_port, check_filing_settings(env_of(services["filings"]), "filings").metrics_port}
    assert settings.metrics_port not in ports, "a port of its own: no scrape target is mistaken for another stage"
    assert f"http://localhost:{settings.metrics_port}/healthz" in " ".join(argv(adapter["healthcheck"]["test"]) or [])
    assert adapter["depends_on"]["kafka"]["condition"] == "service_healthy" and adapter["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_the_topics_one_shot_creates_the_network_and_iso20022_topics() -> None:
    from streams.cli import _topics_for_provisioning
    from streams.settings import load_settings

    t = load_settings({}).topics
    created = {topic.name for topic in _topics_for_provisioning(load_settings({}), 6)}
    assert {t.edges, t.network_detections, t.iso20022_pacs008, t.iso20022_camt054} <= created


def test_prometheus_starts_after_every_scraped_service(services: dict[str, dict[str, Any]]) -> None:
    targets = {target.split(":")[0] for job in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"] for s in job["static_configs"] for target in s["targets"]}
    assert targets - {"localhost"} <= set(services["prometheus"]["depends_on"])


# --- deploy/local/demo.sh ------------------------------------------------------------------------------

DEMO = ROOT / "deploy" / "local" / "demo.sh"


def demo_environment() -> dict[str, str]:
    """The AMLSTREAM_* variables demo.sh exports before it starts anything: its lines from `run_id=`
    up to the first command that touches a service, run by bash (they only assign and export)."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("run_id="))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(("redis-cli", '"$AML"')))
    script = "set -eu\nexport AMLSTREAM_METRICS_PORT=9464\n" + "\n".join(lines[start:end]) + "\nenv\n"
    out = subprocess.run(["bash", "-c", script], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True, timeout=10).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if line.startswith("AMLSTREAM_"))


def demo_calls() -> list[list[str]]:
    """The `"$AML" ...` command lines of demo.sh, without redirections; shell variables stand in as 1."""
    script = DEMO.read_text(encoding="utf-8").replace("\\\n", " ")
    calls = []
    for match in re.finditer(r'"\$AML" ([^\n]*)', script):
        words = re.split(r"\s(?:\d?>|&|\||;)", " " + match.group(1))[0]
        calls.append(shlex.split(re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "1", words), comments=True))
    return calls


def test_demo_runs_use_topics_and_groups_of_their_own() -> None:
    from streams.settings import Topics

    env = demo_environment()
    settings = check_settings(env, "demo.sh")
    defaults = Topics()
    for field in Topics.model_fields:
        name = getattr(settings.topics, field)
        assert name != getattr(defaults, field) and name.startswith("demo-"), f"demo.sh writes to the shared topic {name} (AMLSTREAM_TOPIC_{field.upper()})"
    assert settings.group_id.startswith("amlstream-demo-") and settings.network_group_id.startswith("amlstream-network-demo-")
    assert settings.network_metrics_port not in (settings.metrics_port, settings.metrics_port + 1), "the worker has the metrics port, the adapter the next one"


def test_demo_starts_a_network_worker_beside_the_worker_and_calls_only_real_commands() -> None:
    calls = demo_calls()
    commands = [call[0] for call in calls]
    assert "worker" in commands and "network-worker" in commands
    assert commands.index("network-worker") < commands.index("produce"), "the network worker runs before the stream is produced"
    for call in calls:
        check_cli(call, "demo.sh")
