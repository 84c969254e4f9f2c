"""One replica for ``tests/test_events_redis.py``, run as its own process: a session whose
events come from a :class:`~braket_async.events_redis.RedisEventFanout` on an SQS queue that
the other replica reads too.

``python tests/_events_replica.py CONFIG_JSON``. It prints ``{"ready": true}`` once its
fan-out reads the stream; then, for each line ``{"arns": [...]}`` on stdin, it waits on every
ARN with a sleep that never returns (only an event can end such a wait) and prints one JSON
line: the statuses, the event ids its own SQS receive got (``own``), the ids handed to its
subscribers (``delivered``) and the events its applier applied (``applied``). ``exit`` ends
it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from braket_async import BraketSession
from braket_async.events import BraketEvent, TaskStateChange
from braket_async.events_redis import RedisEventFanout


async def never(_seconds: float) -> None:
    await asyncio.Event().wait()


def _arn(event: BraketEvent) -> str:
    return event.quantum_task_arn if isinstance(event, TaskStateChange) else event.job_arn


async def main(config: dict[str, Any]) -> None:
    fanout = RedisEventFanout(
        config["queue_url"], redis_url=config["redis_url"], key=config["key"], block=0.5
    )
    own: set[str] = set()
    delivered: list[str | None] = []
    applied: list[list[str | None]] = []

    async def apply(event: BraketEvent) -> None:
        applied.append([event.event_id, _arn(event), str(event.status)])

    async with BraketSession(**config["session"], events=fanout) as braket:
        fanout.subscribe(lambda event: delivered.append(event.event_id))
        fanout.add_applier(apply)
        assert fanout.source is not None
        fanout.source.subscribe(lambda event: own.add(str(event.event_id)))
        for _ in range(3000):
            if fanout._last_id is not None:  # reading the stream
                break
            await asyncio.sleep(0.01)
        print(json.dumps({"ready": True}), flush=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip() == "exit":
                break
            arns = json.loads(line)["arns"]
            tasks = await asyncio.gather(
                *(braket.wait_for_quantum_task(arn, sleep=never) for arn in arns)
            )
            report = {
                "statuses": [str(task.status) for task in tasks],
                "own": sorted(own),
                "delivered": delivered,
                "applied": applied,
                "stats": dict(fanout.stats),
            }
            print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
