"""Kubernetes manifests, checked offline: wiring between objects, probes, the Secret mount, settings."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from tests.ops.helpers import COMPOSE, DOCKERFILE, K8S, check_adapter_settings, check_cli, check_filing_settings, check_settings, load_yaml

KINDS = {"ConfigMap", "Secret", "StatefulSet", "Service", "PodDisruptionBudget"}
FILINGS_FILE = "filings.yaml"  # the filing worker's objects, checked apart (tests at the end)
NETWORK_FILE = "network.yaml"  # the network stage's, checked apart too
ISO20022_FILE = "iso20022.yaml"  # the ISO 20022 adapter's
STAGE_FILES = {FILINGS_FILE, NETWORK_FILE, ISO20022_FILE}


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name in STAGE_FILES:
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is None or doc.get("kind") == "Kustomization":
                continue
            assert doc["kind"] not in found, f"two {doc['kind']} objects; the tests expect one of each"
            found[doc["kind"]] = doc | {"_file": path.name}
    return found


@pytest.fixture(scope="module")
def sts(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return objects["StatefulSet"]


@pytest.fixture(scope="module")
def pod(sts: dict[str, Any]) -> dict[str, Any]:
    return sts["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (worker,) = pod["containers"]
    return worker


def container_env(objects: dict[str, dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The container's environment: envFrom ConfigMaps first, then env (which wins)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ref == objects["ConfigMap"]["metadata"]["name"], f"envFrom names an unknown ConfigMap {ref}"
        env.update(objects["ConfigMap"]["data"])
    for item in container.get("env", []):
        assert "value" in item, f"{item['name']}: only literal values are expected here"
        env[item["name"]] = item["value"]
    return env


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def named_port(container: dict[str, Any], port: str | int) -> int:
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return number


def input_partitions() -> int:
    """Partitions of the input topics as the compose stack creates them (`create-topics --partitions`)."""
    command = load_yaml(COMPOSE)["services"]["topics"]["command"]
    return check_cli(command, "compose topics").partitions


def test_all_kinds_are_present_and_namespace_free(objects: dict[str, dict[str, Any]]) -> None:
    assert set(objects) == KINDS
    for kind, obj in objects.items():
        assert "namespace" not in obj["metadata"], f"{kind} sets a namespace"


def test_kustomization_lists_everything_but_the_secret_placeholder(objects: dict[str, dict[str, Any]]) -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    files = {obj["_file"] for obj in objects.values()}
    assert set(kustomization["resources"]) == files - {objects["Secret"]["_file"]} | STAGE_FILES
    assert "namespace" not in kustomization


def test_statefulset_shape(sts: dict[str, Any], pod: dict[str, Any]) -> None:
    spec = sts["spec"]
    assert sts["metadata"]["name"] == "amlstream-worker"
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "Parallel"
    assert pod["terminationGracePeriodSeconds"] == 60
    assert selects(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])


def test_replicas_never_exceed_the_input_partitions_and_there_is_no_autoscaler(objects: dict[str, dict[str, Any]], sts: dict[str, Any]) -> None:
    assert "HorizontalPodAutoscaler" not in objects
    assert sts["spec"]["replicas"] <= input_partitions()


def test_headless_service_of_the_statefulset(objects: dict[str, dict[str, Any]], sts: dict[str, Any], container: dict[str, Any]) -> None:
    service = objects["Service"]
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert selects(service["spec"]["selector"], sts["spec"]["template"]["metadata"]["labels"])
    for port in service["spec"]["ports"]:
        assert named_port(container, port["targetPort"]) == port["port"]


def test_pdb_selects_the_worker_pods(objects: dict[str, dict[str, Any]], sts: dict[str, Any]) -> None:
    pdb = objects["PodDisruptionBudget"]["spec"]
    assert pdb["maxUnavailable"] == 1
    assert selects(pdb["selector"]["matchLabels"], sts["spec"]["template"]["metadata"]["labels"])


def test_probes_hit_healthz_and_readyz_on_the_metrics_port(objects: dict[str, dict[str, Any]], container: dict[str, Any]) -> None:
    port = check_settings(container_env(objects, container), "worker container").metrics_port
    assert named_port(container, "metrics") == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if probe in container:
            assert named_port(container, container[probe]["httpGet"]["port"]) == port, probe


def test_prometheus_annotations_point_at_the_metrics_port(objects: dict[str, dict[str, Any]], sts: dict[str, Any], container: dict[str, Any]) -> None:
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    port = check_settings(container_env(objects, container), "worker container").metrics_port
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations.get("prometheus.io/path", "/metrics") == "/metrics"


def test_resources_and_security_context(pod: dict[str, Any], container: dict[str, Any]) -> None:
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), kind
    assert pod["securityContext"]["runAsNonRoot"] is True
    uid = pod["securityContext"]["runAsUser"]
    users = [line.split()[1] for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if line.startswith("USER ")]
    assert str(uid) == users[-1].split(":")[0], "runAsUser must be the image's user"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_read_only_root_filesystem_keeps_a_writable_working_directory(pod: dict[str, Any], container: dict[str, Any]) -> None:
    if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
        return
    workdirs = [line.split()[1] for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if line.startswith("WORKDIR ")]
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    writable = {mount["mountPath"] for mount in container["volumeMounts"] if mount["name"] in empty_dirs}
    assert workdirs[-1] in writable, "faust creates its data directory in the working directory"


def test_the_worker_runs_the_worker_subcommand(container: dict[str, Any]) -> None:
    assert "command" not in container, "keep the image's entrypoint (amlstream)"
    args = container["args"]
    check_cli(shlex.split(args) if isinstance(args, str) else args, "worker container")
    assert args == ["worker"]


def test_configmap_keys_are_settings_load_settings_accepts(objects: dict[str, dict[str, Any]]) -> None:
    data = objects["ConfigMap"]["data"]
    assert all(key.startswith("AMLSTREAM_") for key in data)
    assert all(isinstance(value, str) for value in data.values()), "ConfigMap values must be strings"
    check_settings(data, "ConfigMap")


def test_the_standard_secret_is_mounted_read_only_0400_where_model_config_points(
    objects: dict[str, dict[str, Any]], pod: dict[str, Any], container: dict[str, Any]
) -> None:
    secret = objects["Secret"]
    assert "standard.toml" in secret["stringData"]
    assert "data" not in secret, "only placeholders (stringData) belong in the repository"
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == secret["metadata"]["name"]]
    assert volume["secret"]["defaultMode"] == 0o400 == 256
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount.get("readOnly") is True
    assert "subPath" not in mount, "a subPath mount never receives Secret updates (no reload)"
    items = {item["key"]: item["path"] for item in volume["secret"].get("items", [])} or {key: key for key in secret["stringData"]}
    settings = check_settings(container_env(objects, container), "worker container")
    assert settings.model_config_file is not None
    assert PurePosixPath(str(settings.model_config_file)) == PurePosixPath(mount["mountPath"]) / items["standard.toml"]


def test_the_worker_can_read_the_mounted_standard(objects: dict[str, dict[str, Any]], pod: dict[str, Any], container: dict[str, Any]) -> None:
    # kubelet writes Secret files as root; with an fsGroup it sets that group and adds group-read
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    mode = volume["secret"]["defaultMode"]
    security = pod["securityContext"]
    if security.get("runAsUser", 0) != 0:
        assert "fsGroup" in security, "a non-root worker cannot read a root-owned 0400 file without an fsGroup"
        mode |= 0o440
    settings = check_settings(container_env(objects, container), "worker container")
    # group-read is accepted only for a group the worker belongs to (the pod's fsGroup); any
    # "other" bit is refused unless AMLSTREAM_ALLOW_READABLE_MODEL=1
    if mode & 0o007:
        assert settings.allow_readable_model, f"the file is mode {mode:o} in the pod: the worker refuses it unless AMLSTREAM_ALLOW_READABLE_MODEL=1"
    if mode & 0o070:
        assert "fsGroup" in security, "group bits on the standard are accepted only for the worker's own group: the pod's fsGroup"


def test_every_label_is_a_valid_kubernetes_label(objects: dict[str, dict[str, Any]]) -> None:
    for kind, obj in objects.items():
        for key, value in obj["metadata"].get("labels", {}).items():
            assert re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", key), f"{kind}: label {key}"
            assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", value), f"{kind}: label value {value}"


# --- the filing worker (filings.yaml) ----------------------------------------------------------------


@pytest.fixture(scope="module")
def filings() -> dict[str, dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all((K8S / FILINGS_FILE).read_text(encoding="utf-8")) if doc]
    assert sorted(doc["kind"] for doc in docs) == ["Service", "StatefulSet"]
    return {doc["kind"]: doc for doc in docs}


@pytest.fixture(scope="module")
def filings_container(filings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (container,) = filings["StatefulSet"]["spec"]["template"]["spec"]["containers"]
    return container


def test_the_filing_worker_is_one_writer_with_its_own_group_and_port(
    objects: dict[str, dict[str, Any]], filings: dict[str, dict[str, Any]], filings_container: dict[str, Any]
) -> None:
    sts = filings["StatefulSet"]
    assert sts["spec"]["replicas"] == 1, "one filing writer per institution (a Redis lease)"
    assert "namespace" not in sts["metadata"] and "namespace" not in filings["Service"]["metadata"]
    args = filings_container["args"]
    assert "command" not in filings_container and check_cli(args, "filings container") and args == ["filings", "worker"]
    env = container_env(objects, filings_container)
    settings = check_settings(env, "filings container")
    fsettings = check_filing_settings(env, "filings container")
    assert fsettings.group_id != settings.group_id, "its own consumer group"
    assert named_port(filings_container, "metrics") == fsettings.metrics_port != settings.metrics_port
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert named_port(filings_container, filings_container[probe]["httpGet"]["port"]) == fsettings.metrics_port, probe
    assert filings_container["readinessProbe"]["httpGet"]["path"] == "/readyz" and filings_container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(fsettings.metrics_port)


def test_the_filing_worker_keeps_its_files_on_a_volume_and_reads_the_standard(
    objects: dict[str, dict[str, Any]], filings: dict[str, dict[str, Any]], filings_container: dict[str, Any]
) -> None:
    spec = filings["StatefulSet"]["spec"]
    fsettings = check_filing_settings(container_env(objects, filings_container), "filings container")
    claims = {claim["metadata"]["name"] for claim in spec.get("volumeClaimTemplates", [])}
    durable = [m["mountPath"] for m in filings_container["volumeMounts"] if m["name"] in claims]
    for path in (fsettings.outbox, fsettings.inbox):
        assert any(PurePosixPath(str(path)).is_relative_to(mount) for mount in durable), f"{path}: files to submit must survive a restart"
    pod = spec["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == objects["Secret"]["metadata"]["name"]]
    (mount,) = [m for m in filings_container["volumeMounts"] if m["name"] == volume["name"]]
    settings = check_settings(container_env(objects, filings_container), "filings container")
    assert PurePosixPath(str(settings.model_config_file)) == PurePosixPath(mount["mountPath"]) / "standard.toml", "the FX table and calendar come from the standard"
    assert pod["securityContext"] == objects["StatefulSet"]["spec"]["template"]["spec"]["securityContext"], "the workers' user and fsGroup (reads the 0400 Secret)"
    assert filings_container["securityContext"]["readOnlyRootFilesystem"] is True
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(filings_container["resources"][kind]), kind


def test_selectors_keep_the_filing_worker_and_the_workers_apart(objects: dict[str, dict[str, Any]], filings: dict[str, dict[str, Any]]) -> None:
    filing_labels = filings["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    worker_labels = objects["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    assert selects(filings["StatefulSet"]["spec"]["selector"]["matchLabels"], filing_labels)
    assert selects(filings["Service"]["spec"]["selector"], filing_labels) and not selects(filings["Service"]["spec"]["selector"], worker_labels)
    assert filings["Service"]["spec"]["clusterIP"] == "None" and filings["StatefulSet"]["spec"]["serviceName"] == filings["Service"]["metadata"]["name"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = objects[kind]["spec"]["selector"]
        assert not selects(selector.get("matchLabels", selector), filing_labels), f"the workers' {kind} must not select the filing worker"
    for obj in filings.values():
        for key, value in obj["metadata"].get("labels", {}).items():
            assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", value), f"{obj['kind']}: label {key}={value}"


# --- the network stage (network.yaml) and the ISO 20022 adapter (iso20022.yaml) ------------------------


def stage_objects(name: str) -> dict[str, dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all((K8S / name).read_text(encoding="utf-8")) if doc]
    assert len({doc["kind"] for doc in docs}) == len(docs), f"{name}: one object of each kind"
    return {doc["kind"]: doc for doc in docs}


@pytest.fixture(scope="module")
def network() -> dict[str, dict[str, Any]]:
    found = stage_objects(NETWORK_FILE)
    assert sorted(found) == ["PodDisruptionBudget", "Service", "StatefulSet"]
    return found


@pytest.fixture(scope="module")
def iso20022() -> dict[str, dict[str, Any]]:
    found = stage_objects(ISO20022_FILE)
    assert sorted(found) == ["Deployment", "PodDisruptionBudget"]
    return found


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def check_stage_pod(objects: dict[str, dict[str, Any]], workload: dict[str, Any], port: int, where: str) -> None:
    """What every amlstream pod has: probes and the Prometheus annotation on its metrics port, the
    workers' user, fsGroup and 0400 standard mount where AMLSTREAM_MODEL_CONFIG points, a writable
    /tmp under a read-only root, resources, a PDB of at most one and selectors apart from the other stages'."""
    assert "namespace" not in workload["metadata"], where
    template = workload["spec"]["template"]
    pod, container = template["spec"], only_container(workload)
    assert "command" not in container, f"{where}: keep the image's entrypoint (amlstream)"
    assert selects(workload["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]), where
    assert named_port(container, "metrics") == port, where
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert named_port(container, container[probe]["httpGet"]["port"]) == port, f"{where}: {probe}"
    assert container["livenessProbe"]["httpGet"]["path"] == container["startupProbe"]["httpGet"]["path"] == "/healthz", where
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
    annotations = template["metadata"]["annotations"]
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations.get("prometheus.io/path", "/metrics")) == ("true", str(port), "/metrics")
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{where}: {kind}"
    assert pod["securityContext"] == objects["StatefulSet"]["spec"]["template"]["spec"]["securityContext"], (
        f"{where}: the workers' user and fsGroup (reads the 0400 Secret)"
    )
    assert pod["terminationGracePeriodSeconds"] >= 60 and pod["automountServiceAccountToken"] is False, where
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False, where
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs}, f"{where}: the temporary directory must be writable"
    (volume,) = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == objects["Secret"]["metadata"]["name"]]
    assert volume["secret"]["defaultMode"] == 256
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount.get("readOnly") is True and "subPath" not in mount
    settings = check_settings(container_env(objects, container), where)
    assert PurePosixPath(str(settings.model_config_file)) == PurePosixPath(mount["mountPath"]) / "standard.toml", f"{where}: it reads the scoring standard"
    labels = template["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):  # the workers' objects
        selector = objects[kind]["spec"]["selector"]
        assert not selects(selector.get("matchLabels", selector), labels), f"the workers' {kind} must not select {where}"
    assert not selects(objects["StatefulSet"]["spec"]["selector"]["matchLabels"], labels), where
    for key, value in labels.items():
        assert re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", value), f"{where}: label {key}={value}"


def test_the_network_worker_runs_beside_the_workers_that_emit_edges(objects: dict[str, dict[str, Any]], network: dict[str, dict[str, Any]]) -> None:
    sts, container = network["StatefulSet"], only_container(network["StatefulSet"])
    assert container["args"] == ["network-worker"] and check_cli(container["args"], "network container")
    settings = check_settings(container_env(objects, container), "network container")
    workers = check_settings(container_env(objects, objects["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]), "worker container")
    assert workers.network, "the workers emit edges (AMLSTREAM_NETWORK=1): the network stage is their reader"
    assert settings.network_group_id != workers.group_id, "its own consumer group"
    assert settings.topics == workers.topics and settings.redis_url == workers.redis_url
    check_stage_pod(objects, sts, settings.network_metrics_port, "network container")
    assert settings.network_metrics_port != settings.metrics_port
    assert sts["spec"]["podManagementPolicy"] == "Parallel" and 1 <= sts["spec"]["replicas"] <= input_partitions()


def test_the_network_service_and_pdb_select_only_the_network_workers(network: dict[str, dict[str, Any]], filings: dict[str, dict[str, Any]]) -> None:
    sts, service, pdb = network["StatefulSet"], network["Service"], network["PodDisruptionBudget"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["clusterIP"] == "None" and sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert selects(service["spec"]["selector"], labels) and selects(pdb["spec"]["selector"]["matchLabels"], labels)
    for port in service["spec"]["ports"]:
        assert named_port(only_container(sts), port["targetPort"]) == port["port"]
    assert pdb["spec"]["maxUnavailable"] == 1 and pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
    assert not selects(service["spec"]["selector"], filings["StatefulSet"]["spec"]["template"]["metadata"]["labels"])


def test_the_iso20022_adapter_has_its_own_group_and_metrics_port(
    objects: dict[str, dict[str, Any]], iso20022: dict[str, dict[str, Any]], network: dict[str, dict[str, Any]]
) -> None:
    deployment, container = iso20022["Deployment"], only_container(iso20022["Deployment"])
    assert container["args"] == ["iso20022", "adapter"] and check_cli(container["args"], "iso20022 container")
    env = container_env(objects, container)
    settings = check_settings(env, "iso20022 container")
    adapter = check_adapter_settings(env, "iso20022 container")
    workers = check_settings(container_env(objects, objects["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]), "worker container")
    assert adapter.group_id not in (workers.group_id, workers.network_group_id), "its own consumer group"
    assert settings.topics == workers.topics, "it produces to the workers' transactions topic"
    assert settings.metrics_port not in (workers.metrics_port, workers.network_metrics_port), "a port of its own: no target is mistaken for a worker"
    check_stage_pod(objects, deployment, settings.metrics_port, "iso20022 container")
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, "a rollout never takes the input away"
    pdb = iso20022["PodDisruptionBudget"]["spec"]
    assert pdb["maxUnavailable"] == 1 and selects(pdb["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"])
    assert not selects(network["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"])
