"""A bare faust pass-through (consume -> produce, no work) with the worker's delivery pattern:
take a batch, send it, wait for every broker ack, then acknowledge the inputs. The baseline
that the worker's rate is compared with."""

from __future__ import annotations

import asyncio
import os
import tempfile

import faust
import mode

source_topic = os.environ["BENCH_SOURCE"]
sink_topic = os.environ["BENCH_SINK"]
app = faust.App(
    os.environ["BENCH_GROUP"],
    broker=f"kafka://{os.environ.get('BENCH_BOOTSTRAP', '127.0.0.1:9092')}",
    web_enabled=False,
    topic_allow_declare=False,
    topic_disable_leader=True,
    consumer_auto_offset_reset="earliest",
    broker_commit_interval=1.0,
    broker_max_poll_records=500,
    agent_supervisor=mode.CrashingSupervisor,
    datadir=os.path.join(tempfile.gettempdir(), "amlstream-bench-faust"),
)
source = app.topic(source_topic, key_serializer="raw", value_serializer="raw")
sink = app.topic(sink_topic, key_serializer="raw", value_serializer="raw")


@app.agent(source)
async def passthrough(stream: faust.StreamT) -> None:
    async for events in stream.take_events(500, within=0.2):
        futures = [await app.producer.send(sink_topic, e.message.key, e.message.value, None, None, None) for e in events]
        await asyncio.gather(*futures)


if __name__ == "__main__":
    from streams.runtime import tune_gc

    tune_gc()  # the worker's process settings, so that the two compare like for like
    from streams.logs import faust_worker

    faust_worker(app, "warning").execute_from_commandline()  # as the workers run it (bench.common.worker_env's level)
