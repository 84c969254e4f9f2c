"""One replica of a shared batch, as a real process: ``python tests/_batch_replica.py CONFIG``.

CONFIG is a JSON object: ``role`` ("submit": submit ``n`` items as batch ``batch_id``; "join":
attach to it and take part), ``endpoint_url`` / ``s3_endpoint_url`` / ``bucket`` (a local
Braket service), ``redis_url``, ``prefix``, ``claim_idle``, ``create_rate`` (CreateQuantumTask
per second, this process's limiter). It prints one JSON line per event on stdout:
``stored`` (the batch is in Redis), ``waiting`` (a joiner is up), ``attached``, and at the
end ``done`` with this process's view: ``counts`` (the store's counters), ``outcomes``
(index -> status or error type) and ``arns``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import attrs

from braket_async import BatchOptions, BraketSession, Rate, RateLimits
from braket_async.batch_redis import RedisBatchStore
from braket_async.errors import ParameterError
from braket_async.polling import PollPolicy
from braket_async.tracking import SweepPolicy, TrackerOptions

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
ONE = "OPENQASM 3;\nqubit[1] q;\nbit[1] c;\nx q[0];\nc = measure q;"
FAST = BatchOptions(
    tracker=TrackerOptions(
        poll=PollPolicy(initial=0.05, multiplier=1.5, maximum=0.3),
        sweep=SweepPolicy(min_interval=0.05),
    ),
    max_in_flight=8,
)


def say(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


async def main(config: dict[str, Any]) -> None:
    store = RedisBatchStore(
        config["redis_url"], prefix=config["prefix"], claim_idle=config["claim_idle"]
    )
    limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(config["create_rate"], 2))
    async with BraketSession(
        endpoint_url=config["endpoint_url"],
        s3_endpoint_url=config["s3_endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        rate_limits=limits,
    ) as braket:
        options = FAST
        if config["role"] == "submit":
            batch = braket.submit_batch(
                [ONE] * config["n"],
                device_arn=SV1,
                shots=10,
                output_s3_bucket=config["bucket"],
                output_s3_key_prefix="replicas",
                details=False,
                store=store,
                options=BatchOptions(
                    batch_id=config["batch_id"],
                    tracker=options.tracker,
                    max_in_flight=options.max_in_flight,
                ),
            )
            await batch.stored()
            say("stored", batch_id=batch.batch_id)
        else:
            say("waiting")
            while True:  # until the submitter has stored the batch
                try:
                    batch = await braket.attach_batch(
                        config["batch_id"], store=store, options=options
                    )
                    break
                except ParameterError:
                    await asyncio.sleep(0.05)
            say("attached", items=len(batch))
        async with batch:
            outcomes = await batch.wait()
            await batch.refresh()
        say(
            "done",
            counts=attrs.asdict(batch.progress),
            outcomes={
                o.index: str(o.status) if o.status is not None else type(o.error).__name__
                for o in outcomes
            },
            arns={o.index: o.task_arn for o in outcomes},
        )


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
