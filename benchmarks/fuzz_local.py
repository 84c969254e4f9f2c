"""Fuzz the local Braket service: N correctly signed, mutated requests over all 17 operations;
print how many got a 5xx (must be 0).

    python benchmarks/fuzz_local.py --cases 5000

The cases are those of ``tests/local/test_fuzz.py`` (``tests/local/_fuzz.py``: botocore's
rest-json serializer, then a body member, an embedded JSON document, a path label, the query or
the whole body mutated; SigV4-signed). One ``LocalBraket`` runs in this process with no rate
quotas; Hypothesis drives the cases from this thread while the service and the client run on
an event loop in another. Every 5xx is kept (operation, mutation, status, code, request) in
``benchmarks/out/fuzz_local.json`` (the recorded run: ``benchmarks/results/fuzz_local.json``);
the exit status is 1 when there is one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))

import aiohttp  # noqa: E402
from _harness import write_json  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from local._fuzz import Case, cases, prepare_targets, send_case  # noqa: E402
from local._helpers import SignedHttp  # noqa: E402

from braket_async.local import LocalBraket, NoScriptJobRunner, Quotas  # noqa: E402

T = TypeVar("T")


class _Loop:
    """An event loop on a thread of its own; ``run(coro)`` from this thread waits for it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def _shown(case: Case) -> dict[str, Any]:
    body = case.body[:300].decode("utf-8", "replace")
    return {
        "operation": case.operation,
        "mutation": case.mutation,
        "method": case.method,
        "path": case.path[:300],
        "query": case.query[:300],
        "body_start": body,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--out", default="fuzz_local.json")
    args = parser.parse_args()

    runner = _Loop()
    local = LocalBraket(
        quotas=Quotas.off(), events=False, job_runner=NoScriptJobRunner(), workers=1
    )
    runner.run(local.start())
    session: aiohttp.ClientSession = runner.run(_open_session())
    statuses: Counter[int] = Counter()
    per_operation: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    server_errors: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        targets = runner.run(prepare_targets(session, local.endpoint_url, local.default_bucket))
        http = SignedHttp(session)

        @settings(
            max_examples=args.cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(targets))
        def one(case: Case) -> None:
            status, code = runner.run(send_case(http, local.endpoint_url, case))
            statuses[status] += 1
            per_operation[case.operation] += 1
            codes[code or str(status)] += 1
            if status >= 500:
                server_errors.append({**_shown(case), "status": status, "code": code})

        one()
    finally:
        elapsed = time.perf_counter() - started
        runner.run(session.close())
        runner.run(local.close())
        runner.close()
    total = sum(statuses.values())
    five_xx = sum(n for status, n in statuses.items() if status >= 500)
    result = {
        "cases": total,
        "server_errors_5xx": five_xx,
        "seconds": round(elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "operations": dict(sorted(per_operation.items())),
        "codes": dict(codes.most_common()),
        "server_error_cases": server_errors[:50],
    }
    write_json(args.out, result)
    print(f"fuzz_local: {total} cases over {len(per_operation)} operations in {elapsed:.1f} s")
    print(f"statuses: {result['statuses']}")
    print(f"5xx: {five_xx}")
    return 1 if five_xx else 0


async def _open_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


if __name__ == "__main__":
    sys.exit(main())
