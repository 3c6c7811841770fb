"""A single-node KRaft Apache Kafka broker from Maven Central jars, and its topics."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

from meterline.settings import Settings

from .processes import InfraError, ManagedProcess, port_is_open

__all__ = ["kafka_process", "ensure_kafka_jars", "create_topics", "kafka_is_ready"]

_HERE = Path(__file__).resolve().parent / "kafka"


def _state_dir(settings: Settings) -> Path:
    return settings.run_dir / "kafka"


def ensure_kafka_jars(settings: Settings) -> Path:
    libs = _state_dir(settings) / "libs"
    if libs.exists() and any(libs.glob("kafka_2.13-*.jar")):
        return libs
    if shutil.which("java") is None:
        raise InfraError("kafka: Java 17 is missing (`java` is not on PATH)")
    if shutil.which("mvn") is None:
        raise InfraError("kafka: Maven is missing (`mvn` is not on PATH); it resolves the broker's jars")
    libs.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(_HERE / "pom.xml"), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={libs}"],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise InfraError(f"kafka: Maven could not resolve the broker's jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return libs


def _server_properties(settings: Settings, data_dir: Path) -> str:
    k = settings.kafka
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{k.controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{k.port},CONTROLLER://127.0.0.1:{k.controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{k.port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data_dir}",
        f"num.partitions={k.events_partitions}",
        # One node: internal topics cannot be replicated; exactly-once needs these.
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        # Fewer internal partitions start faster on 2 cores.
        "offsets.topic.num.partitions=4",
        "transaction.state.log.num.partitions=4",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "log.retention.hours=168",
        "",
    ])


def kafka_is_ready(settings: Settings) -> bool:
    if not port_is_open(settings.kafka.port):
        return False
    log = _state_dir(settings) / "kafka.log"
    return log.exists() and "Kafka Server started" in log.read_text(errors="replace")


def kafka_process(settings: Settings) -> ManagedProcess:
    state = _state_dir(settings)
    libs = state / "libs"
    return ManagedProcess(
        name="kafka",
        command=[
            "java", f"-Xms256m", f"-Xmx{settings.kafka.heap}", "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{_HERE / 'log4j.properties'}",
            "-cp", f"{libs}/*", "kafka.Kafka", str(state / "server.properties"),
        ],
        state_dir=state,
        ready=lambda: kafka_is_ready(settings),
        port=settings.kafka.port,
        start_timeout_s=90,
    )


def _new_cluster_id() -> str:
    """A base64 UUID, as `kafka-storage random-uuid` prints, derived locally rather than
    spawning the JVM twice. Like Kafka's own Uuid.randomUuid(), never one starting with
    "-": StorageTool's argument parser would take it for an option (1 set-up in 64)."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def prepare_kafka(settings: Settings) -> None:
    """Resolve jars, write the config and format the storage once."""
    libs = ensure_kafka_jars(settings)
    state = _state_dir(settings)
    data_dir = state / "data"
    state.mkdir(parents=True, exist_ok=True)
    (state / "server.properties").write_text(_server_properties(settings, data_dir))
    if (data_dir / "meta.properties").exists():
        return
    cluster_id_file = state / "cluster-id"
    if not cluster_id_file.exists() or cluster_id_file.read_text().startswith("-"):
        cluster_id_file.write_text(_new_cluster_id())
    result = subprocess.run(
        ["java", "-cp", f"{libs}/*", f"-Dlog4j.configuration=file:{_HERE / 'log4j.properties'}",
         "kafka.tools.StorageTool", "format", "-t", cluster_id_file.read_text().strip(),
         "-c", str(state / "server.properties"), "--ignore-formatted"],
        capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise InfraError(f"kafka: formatting the storage failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")


async def _create_topics(settings: Settings) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(settings.kafka.events_topic, settings.kafka.events_partitions, settings.kafka.replication_factor),
            NewTopic(settings.kafka.dead_letter_topic, 1, settings.kafka.replication_factor),
        ]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


def create_topics(settings: Settings) -> list[str]:
    import asyncio

    return asyncio.run(_create_topics(settings))
