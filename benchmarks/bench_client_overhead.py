"""Client CPU per call: braket-async vs raw aiobotocore, same local server, same run.

Starts ``python -m braket_async.local serve --no-quotas`` in a child process
(``_harness.local_service``, so the server's CPU is not counted), then measures
``time.process_time()`` of this process over N sequential and N concurrent GetQuantumTask /
GetDevice calls, for a raw aiobotocore client and for ``BraketSession`` with the *same*
botocore config (pool, adaptive retries). Rounds alternate between the two clients and the
median per-call CPU is reported, with the ratio ours / raw (target: <= 1.0).

Reading the numbers: GetDevice has no timestamps, so its ratio is the pure cost of the
braket-async layer (validation, rate-limiter check, error mapping, structuring into models).
GetQuantumTask carries two timestamps; braket-async installs a ``datetime.fromisoformat``
timestamp parser (aware UTC datetimes, ~0.2 us) in place of botocore's dateutil one (~35 us),
which is why it can come out cheaper than raw aiobotocore.

Telemetry: the default session (OpenTelemetry installed but no SDK configured, so every call
pays only the ``Telemetry.recording`` check) is measured beside ``braket_async_telemetry_off``
(``Telemetry.off()``: no check at all) and ``braket_async_traced`` (an SDK tracer and meter
provider, spans batched to an exporter that drops them), so the cost of tracing off and on is
read from the same run: ``off_cost`` = default / telemetry-off (target <= 1.02).

    python benchmarks/bench_client_overhead.py [--calls N] [--rounds R] [--concurrency C]
                                               [--with-rate-limits] [--no-tracing]

Writes ``benchmarks/out/bench_client_overhead.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiobotocore
from _harness import local_service
from aiobotocore.session import AioSession

from braket_async import BraketSession, OpenQASMProgram, RateLimits, Telemetry
from braket_async._transport import merge_config

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BELL = "OPENQASM 3; qubit[2] q; bit[2] c; h q[0]; cnot q[0], q[1]; c = measure q;"
# the local service verifies SigV4 with its credentials (serve's default: testing/testing)
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
OUT = Path(__file__).parent / "out" / "bench_client_overhead.json"

Call = Callable[[], Awaitable[Any]]


async def measure(call: Call, calls: int, concurrency: int) -> float:
    """CPU seconds per call for ``calls`` calls, ``concurrency`` in flight at once."""
    gc.collect()  # start each measurement with the same (empty) garbage
    start = time.process_time()
    if concurrency <= 1:
        for _ in range(calls):
            await call()
    else:
        remaining = calls
        while remaining:
            batch = min(concurrency, remaining)
            await asyncio.gather(*(call() for _ in range(batch)))
            remaining -= batch
    return (time.process_time() - start) / calls


@contextlib.asynccontextmanager
async def raw_client(endpoint_url: str) -> AsyncIterator[Any]:
    session = AioSession()
    async with session.create_client(
        "braket",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        config=merge_config(100, None),
        **CREDENTIALS,
    ) as client:
        yield client


def traced_telemetry() -> Telemetry:
    """SDK providers as a service would configure them, exporting into the void."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Drop(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(Drop()))
    return Telemetry(tracer_provider=tracer_provider, meter_provider=MeterProvider())


async def run(args: argparse.Namespace, endpoint_url: str, bucket: str) -> dict[str, Any]:
    limits = None if args.with_rate_limits else RateLimits.off()

    def session(telemetry: Telemetry | None = None) -> BraketSession:
        return BraketSession(
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            rate_limits=limits,
            telemetry=telemetry,
            aws_access_key_id=CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=CREDENTIALS["aws_secret_access_key"],
        )

    async with contextlib.AsyncExitStack() as stack:
        ours = await stack.enter_async_context(session())
        raw = await stack.enter_async_context(raw_client(endpoint_url))
        variants = {"braket_async": ours}
        if args.tracing:
            variants["braket_async_telemetry_off"] = await stack.enter_async_context(
                session(Telemetry.off())
            )
            variants["braket_async_traced"] = await stack.enter_async_context(
                session(traced_telemetry())
            )
        arn = await ours.create_quantum_task(
            device_arn=SV1,
            action=OpenQASMProgram(BELL),
            shots=10,
            output_s3_bucket=bucket,
            output_s3_key_prefix="bench",
        )
        for _ in range(500):  # let the task finish so every answer is the same
            if (await ours.get_quantum_task(arn)).is_terminal:
                break
            await asyncio.sleep(0.02)

        clients: dict[str, dict[str, Call]] = {
            "raw_aiobotocore": {
                "GetQuantumTask": lambda: raw.get_quantum_task(quantumTaskArn=arn),
                "GetDevice": lambda: raw.get_device(deviceArn=SV1),
            },
        }
        for name, variant in variants.items():
            clients[name] = {
                "GetQuantumTask": lambda v=variant: v.get_quantum_task(arn),
                "GetDevice": lambda v=variant: v.get_device(SV1),
            }
        for calls in clients.values():  # warm both: connections, caches, code paths
            for call in calls.values():
                await measure(call, 50, args.concurrency)

        # Interleave the two clients in small chunks (order flipped every chunk) so that
        # load from other processes on the machine falls on both alike.
        chunk = max(1, args.concurrency)
        samples: dict[str, dict[str, list[float]]] = {}
        for _ in range(args.rounds):
            for mode, concurrency in (("sequential", 1), ("concurrent", args.concurrency)):
                for operation in ("GetQuantumTask", "GetDevice"):
                    key = f"{operation}/{mode}"
                    spent = dict.fromkeys(clients, 0.0)
                    order = list(clients)
                    for done in range(0, args.calls, chunk):
                        size = min(chunk, args.calls - done)
                        for client in order:
                            call = clients[client][operation]
                            spent[client] += await measure(call, size, concurrency) * size
                        order = order[1:] + order[:1]  # rotate: each client leads in turn
                    for client, cpu in spent.items():
                        samples.setdefault(key, {}).setdefault(client, []).append(cpu / args.calls)

    def ratio(top: list[float], bottom: list[float]) -> tuple[float, list[float]]:
        rounds = [t / b for t, b in zip(top, bottom, strict=True)]
        return round(statistics.median(rounds), 3), [round(r, 3) for r in rounds]

    results: dict[str, Any] = {}
    for key, by_client in samples.items():
        raw_us = statistics.median(by_client["raw_aiobotocore"]) * 1e6
        ours_us = statistics.median(by_client["braket_async"]) * 1e6
        median_ratio, round_ratios = ratio(by_client["braket_async"], by_client["raw_aiobotocore"])
        results[key] = {
            "raw_aiobotocore_cpu_us_per_call": round(raw_us, 1),
            "braket_async_cpu_us_per_call": round(ours_us, 1),
            "overhead_us_per_call": round(ours_us - raw_us, 1),
            "ratio": median_ratio,
            "round_ratios": round_ratios,
        }
        if "braket_async_traced" in by_client:
            off = by_client["braket_async_telemetry_off"]
            traced = by_client["braket_async_traced"]
            results[key]["telemetry_off_cpu_us_per_call"] = round(statistics.median(off) * 1e6, 1)
            results[key]["traced_cpu_us_per_call"] = round(statistics.median(traced) * 1e6, 1)
            results[key]["off_cost"] = ratio(by_client["braket_async"], off)[0]
            results[key]["traced_vs_off"] = ratio(traced, off)[0]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per measurement")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (median)")
    parser.add_argument("--concurrency", type=int, default=50, help="calls in flight")
    parser.add_argument(
        "--with-rate-limits",
        action="store_true",
        help="keep braket-async's AWS default client-side rate limits on",
    )
    parser.add_argument(
        "--no-tracing",
        dest="tracing",
        action="store_false",
        help="skip the telemetry-off and traced sessions",
    )
    parser.add_argument("--target", type=float, default=1.0)
    args = parser.parse_args(argv)

    with local_service(no_quotas=True, workers=1) as service:
        results = asyncio.run(run(args, service.endpoint_url, service.default_bucket))

    worst = max(r["ratio"] for r in results.values())
    print(f"{'case':<28}{'raw us/call':>14}{'ours us/call':>14}{'ratio':>8}")
    for key, r in results.items():
        print(
            f"{key:<28}{r['raw_aiobotocore_cpu_us_per_call']:>14}"
            f"{r['braket_async_cpu_us_per_call']:>14}{r['ratio']:>8}"
        )
    print("ratio = median over rounds of (ours CPU / raw CPU), chunks interleaved")
    if args.tracing:
        print(
            f"{'case':<28}{'off us/call':>14}{'traced us/call':>16}"
            f"{'off_cost':>10}{'traced/off':>12}"
        )
        for key, r in results.items():
            print(
                f"{key:<28}{r['telemetry_off_cpu_us_per_call']:>14}"
                f"{r['traced_cpu_us_per_call']:>16}{r['off_cost']:>10}{r['traced_vs_off']:>12}"
            )
        print("off_cost = default session (no SDK configured) / Telemetry.off() (target <= 1.02)")
    verdict = "PASS" if worst <= args.target else "FAIL"
    print(f"worst ratio {worst} (target <= {args.target}): {verdict}")

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "client CPU per call, braket-async vs raw aiobotocore",
                "calls": args.calls,
                "rounds": args.rounds,
                "concurrency": args.concurrency,
                "rate_limits": "aws_defaults" if args.with_rate_limits else "off",
                "python": platform.python_version(),
                "aiobotocore": aiobotocore.__version__,
                "cpus": os.cpu_count(),
                "results": results,
                "worst_ratio": worst,
                "target": args.target,
                "verdict": verdict,
            },
            indent=2,
        )
    )
    print(f"wrote {OUT}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
