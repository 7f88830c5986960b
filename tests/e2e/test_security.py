"""Secure connections end to end: a worker talks SASL/SCRAM to Kafka and, as an ACL user, TLS
to Redis; credentials never appear in its output, and wrong ones stop it with one line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.e2e.harness import ROOT, WorkerProcess, unique_topics

LIBS = ROOT / ".local" / "kafka" / "libs"
KAFKA_PASSWORD = "kafka-s3cret-" + uuid.uuid4().hex[:6]
REDIS_PASSWORD = "redis-s3cret-" + uuid.uuid4().hex[:6]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


def make_ca(directory: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1."""
    run = lambda *args: subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=amlstream-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext")
    return {"ca": directory / "ca.crt", "cert": directory / "server.crt", "key": directory / "server.key"}


@pytest.fixture(scope="module")
def secure_services(local_services, tmp_path_factory):
    """A private SASL/SCRAM-only Kafka broker and a TLS-only Redis with an ACL user."""
    if not LIBS.is_dir():
        pytest.fail("Kafka jars missing: run deploy/local/services.sh install")
    base = tmp_path_factory.mktemp("secure")
    tls = make_ca(base)
    redis_port = free_port()
    acl = base / "users.acl"
    acl.write_text(f"user default off\nuser amlstream on >{REDIS_PASSWORD} ~* &* +@all\n")
    redis_args = [
        "--port",
        "0",
        "--tls-port",
        str(redis_port),
        "--bind",
        "127.0.0.1",
        "--tls-cert-file",
        str(tls["cert"]),
        "--tls-key-file",
        str(tls["key"]),
        "--tls-ca-cert-file",
        str(tls["ca"]),
        "--tls-auth-clients",
        "no",
        "--aclfile",
        str(acl),
        "--dir",
        str(base),
        "--save",
        "",
        "--hash-max-listpack-value",  # the project's Redis setting (README › Per-customer state)
        "8192",
        "--daemonize",
        "no",
    ]
    redis = subprocess.Popen(["redis-server", *redis_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    kafka_port, controller_port = free_port(), free_port()
    data = base / "kafka-data"
    config = base / "server.properties"
    jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="amlstream" password="{KAFKA_PASSWORD}";'
    config.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
                f"listeners=SASL_PLAINTEXT://127.0.0.1:{kafka_port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=SASL_PLAINTEXT://127.0.0.1:{kafka_port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
                "inter.broker.listener.name=SASL_PLAINTEXT",
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
                f"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config={jaas}",
                f"log.dirs={data}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "num.partitions=2",
            ]
        )
        + "\n"
    )
    java = ["java", "-Xmx384m", "-cp", f"{LIBS}/*"]
    subprocess.run(
        [
            *java,
            "kafka.tools.StorageTool",
            "format",
            "-c",
            str(config),
            "-t",
            "aml-security-test-cl",
            "--standalone",
            "--add-scram",
            f"SCRAM-SHA-512=[name=amlstream,password={KAFKA_PASSWORD}]",
        ],
        check=True,
        capture_output=True,
    )
    kafka = subprocess.Popen([*java, "kafka.Kafka", str(config)], stdout=open(base / "kafka.out", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    try:
        wait_port(redis_port, 20)
        wait_port(kafka_port)
        yield {"kafka": f"127.0.0.1:{kafka_port}", "redis": f"rediss://amlstream:{REDIS_PASSWORD}@127.0.0.1:{redis_port}/0", "ca": str(tls["ca"])}
    finally:
        kafka.terminate()
        redis.terminate()
        kafka.wait(timeout=60)
        redis.wait(timeout=10)
        shutil.rmtree(data, ignore_errors=True)


def secure_env(services: dict[str, str], topics, port: int, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMLSTREAM_")}
    env.update(
        AMLSTREAM_BOOTSTRAP_SERVERS=services["kafka"],
        AMLSTREAM_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        AMLSTREAM_KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        AMLSTREAM_KAFKA_SASL_USERNAME="amlstream",
        AMLSTREAM_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD,
        AMLSTREAM_REDIS_URL=services["redis"],
        AMLSTREAM_REDIS_CA_FILE=services["ca"],
        AMLSTREAM_GROUP_ID=f"sec-{uuid.uuid4().hex[:6]}",
        AMLSTREAM_METRICS_PORT=str(port),
        AMLSTREAM_LOG_LEVEL="info",
        AMLSTREAM_TOPIC_TRANSACTIONS=topics.transactions,
        AMLSTREAM_TOPIC_CUSTOMERS=topics.customers,
        AMLSTREAM_TOPIC_RISK_CHANGES=topics.risk_changes,
        AMLSTREAM_TOPIC_PATTERNS=topics.patterns,
        AMLSTREAM_TOPIC_LARGE_VALUE=topics.large_value,
        AMLSTREAM_TOPIC_DEAD_LETTER=topics.dead_letter,
    )
    env.update(overrides)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


def sasl(services: dict[str, str]) -> dict[str, str]:
    return {
        "bootstrap_servers": services["kafka"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "amlstream",
        "sasl_plain_password": KAFKA_PASSWORD,
    }


async def test_worker_over_sasl_scram_kafka_and_tls_redis_with_an_acl_user(secure_services, tmp_path):
    topics = unique_topics()
    env = secure_env(secure_services, topics, 19620)
    created = cli(env, "create-topics", "--partitions", "2")
    assert created.returncode == 0, created.stderr
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        producer = AIOKafkaProducer(**sasl(secure_services), acks="all", enable_idempotence=True)
        await producer.start()
        doc = {"tx_id": "S1", "customer_id": "sec-1", "ts": "2026-11-27T10:00:00+08:00", "direction": "in", "amount": "60000", "currency": "CNY", "method": "cash"}
        await producer.send_and_wait(topics.transactions, key=b"sec-1", value=orjson.dumps(doc))
        await producer.stop()
        consumer = AIOKafkaConsumer(topics.risk_changes, topics.large_value, **sasl(secure_services), auto_offset_reset="earliest")
        await consumer.start()
        got = []
        deadline = time.monotonic() + 90
        try:
            while len(got) < 2 and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=1000)).values():
                    got += [orjson.loads(r.value) for r in records]
        finally:
            await consumer.stop()
        assert sorted(e["event_type"] for e in got) == ["large_value_report", "risk_change"], worker.log()[-3000:]
    finally:
        worker.stop()
    log = worker.log()
    assert KAFKA_PASSWORD not in log and REDIS_PASSWORD not in log
    assert "redis_url" in log and "amlstream:***@" in log  # the settings line masks the Redis password


@pytest.mark.parametrize(
    ("override", "message"),
    [({"AMLSTREAM_KAFKA_SASL_PASSWORD": "wrong-" + KAFKA_PASSWORD}, "Kafka at"), ({"AMLSTREAM_REDIS_URL": "rediss://amlstream:nope@127.0.0.1:1/0"}, "Redis at")],
)
def test_wrong_credentials_stop_the_worker_with_one_line_and_no_secret(secure_services, override, message):
    env = secure_env(secure_services, unique_topics(), 19621, **override)
    result = cli(env, "worker")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert KAFKA_PASSWORD not in result.stderr and "nope" not in result.stderr
