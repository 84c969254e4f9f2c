"""submit_batch against the local Braket service: exactly one task per item, under faults,
across a crash and a resume, with cancellation, results and progress.

Every test runs against both batch stores (``store`` fixture): the file store (the default)
and a Redis store on a real redis-server; the manifest's own tests only against the first.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from _common import BELL, SV1, session_on
from _redis import RedisServer, running_redis
from botocore.config import Config

from braket_async import (
    BatchOptions,
    BraketSession,
    OpenQASMProgram,
    QuantumTaskStatus,
    Rate,
    RateLimits,
    errors,
)
from braket_async._batch_locate import TOKEN_TAG
from braket_async._batch_manifest import read_manifest
from braket_async.batch import (
    Batch,
    BatchItemState,
    BatchOutcome,
    BatchProgress,
    ItemNotSubmitted,
    TaskRequest,
    client_token_for,
)
from braket_async.batch_redis import RedisBatchStore
from braket_async.local import FaultConfig, FaultSpec, LocalBraket, Quotas
from braket_async.polling import PollPolicy, RetryBudget
from braket_async.tracking import SweepPolicy, TrackerOptions

ONE = "OPENQASM 3;\nqubit[1] q;\nbit[1] c;\nx q[0];\nc = measure q;"
BROKEN = "OPENQASM 3;\nqubit[1] q;\nnot_a_gate q[0];"
FAST_POLL = PollPolicy(initial=0.05, multiplier=1.5, maximum=0.3)
FAST_SWEEP = SweepPolicy(min_interval=0.05)
FAST_TRACKER = TrackerOptions(poll=FAST_POLL, sweep=FAST_SWEEP)
# botocore's own retries off, so every fault reaches the batch's retry logic.
NO_BOTOCORE_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
FAST_RETRY = RetryBudget(max_consecutive=30, max_seconds=60.0, initial=0.01, maximum=0.05)

LocalFactory = Callable[..., Awaitable[LocalBraket]]


#: The settings that go in ``submit_batch(options=BatchOptions(...))``.
OPTION_NAMES = frozenset(field.name for field in attrs.fields(BatchOptions))
#: The store the current test's batches go to (``None``: the default file store).
STORE: list[RedisBatchStore | None] = [None]
file_store_only = pytest.mark.file_store_only


@pytest.fixture(scope="module")
def redis_for_batches() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(autouse=True, params=["file", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[RedisBatchStore | None]:
    """Each test once with the file store and once with a Redis store (its own prefix)."""
    chosen = None
    if request.param == "redis":
        if request.node.get_closest_marker("file_store_only"):
            pytest.skip("a manifest test: the file store's own")
        server: RedisServer = request.getfixturevalue("redis_for_batches")
        # claim_idle well above a loaded machine's stalls: one process, nothing to take over
        chosen = RedisBatchStore(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}", claim_idle=10.0)
    STORE[0] = chosen
    try:
        yield chosen
    finally:
        STORE[0] = None


def submit(braket: BraketSession, local: LocalBraket, items: Any, **kwargs: Any) -> Batch:
    """``submit_batch`` with the tests' defaults and the current test's store; keyword
    arguments named like a field of :class:`BatchOptions` go into its ``options``."""
    if STORE[0] is not None and "manifest" not in kwargs and "resume" not in kwargs:
        kwargs.setdefault("store", STORE[0])
    kwargs.setdefault("device_arn", SV1)
    kwargs.setdefault("shots", 10)
    kwargs.setdefault("output_s3_bucket", local.default_bucket)
    kwargs.setdefault("output_s3_key_prefix", "batch-tests")
    kwargs.setdefault("tracker", FAST_TRACKER)
    kwargs.setdefault("retry", FAST_RETRY)
    options = BatchOptions(**{k: kwargs.pop(k) for k in OPTION_NAMES & kwargs.keys()})
    return braket.submit_batch(items, options=options, **kwargs)


def assert_one_outcome_per_item(outcomes: list[BatchOutcome], n: int) -> None:
    assert sorted(o.index for o in outcomes) == list(range(n))


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait for a condition on the local service, which offers no event to wait on."""
    while not condition():  # noqa: ASYNC110 -- the service's state has no event to await
        await asyncio.sleep(0.01)


def created_on_service(local: LocalBraket) -> dict[str, str]:
    """client token -> task ARN of every task the service holds."""
    return {t.client_token: t.arn for t in local.store.task_list}


# --------------------------------------------------------------------------- arguments


async def test_submit_batch_sends_nothing_until_started(make_local: LocalFactory) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [BELL] * 5, batch_id="lazy")
        await asyncio.sleep(0.05)
        assert local.ledger.snapshot()["total_calls"] == 0
        assert batch.batch_id == "lazy" and len(batch) == 5
        assert batch.client_token(3) == client_token_for("lazy", 3) == "lazy-3"
        assert batch.progress == BatchProgress(total=5)
        await batch.aclose()
    assert local.ledger.snapshot()["total_calls"] == 0


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"shots": -1}, "shots", "must be an int >= 0"),
        ({"shots": None}, "shots", "is required: give it to submit_batch or in every item"),
        ({"device_arn": None}, "device_arn", "is required"),
        ({"max_in_flight": 0}, "max_in_flight", "must be an int >= 1"),
        ({"batch_id": "no spaces"}, "batch_id", "must be 1-40 characters"),
        ({"batch_id": "x" * 41}, "batch_id", "must be 1-40 characters"),
        ({"tags": {"a": 1}}, "tags", "must be a mapping of strings to strings"),
        ({"items": [BELL, 42]}, "items[1]", "must be OpenQASM source, an OpenQASMProgram"),
        ({"items": ["print('hi')"]}, "items[0]", "a string item must be OpenQASM source"),
        ({"items": "OPENQASM 3;"}, "items", "must be an iterable of items, got a string"),
        ({"items": [{"action": BELL, "clientToken": "x"}]}, "items[0].clientToken", "batch sets"),
        ({"manifest": "a.jsonl", "resume": "b.jsonl"}, "manifest", "not both"),
    ],
)
async def test_bad_arguments_raise_before_the_network(
    make_local: LocalFactory, kwargs: dict[str, Any], field: str, rule: str
) -> None:
    local = await make_local()
    kwargs = dict(kwargs)  # (the parameters are shared by both stores' runs)
    items = kwargs.pop("items", [BELL])
    async with session_on(local) as braket:
        with pytest.raises(errors.ParameterError) as info:
            batch = submit(braket, local, items, **kwargs)
            await batch.wait()  # item-level checks made while sending surface here
        assert info.value.field == field
        assert rule in info.value.rule
    assert local.ledger.snapshot()["tasks_created"] == 0


# --------------------------------------------------------------------------- happy path


async def test_every_item_kind_becomes_exactly_one_task(make_local: LocalFactory) -> None:
    from braket.circuits import Circuit

    local = await make_local()
    seen: list[BatchProgress] = []
    items: list[Any] = [
        BELL,
        OpenQASMProgram(ONE),
        {"braketSchemaHeader": {"name": "braket.ir.openqasm.program", "version": "1"},
         "source": BELL},
        Circuit().h(0).cnot(0, 1),
        TaskRequest(action=ONE, shots=7, tags={"item": "request"}),
        {"action": BELL, "shots": 3, "outputS3KeyPrefix": "camel"},
        {"action": OpenQASMProgram(ONE), "device_parameters": None, "tags": {"k": "v"}},
    ] * 6
    async with session_on(local) as braket:
        batch = submit(braket, local, items, progress=seen.append, tags={"batch": "kinds"})
        async with batch:
            outcomes = [o async for o in batch]
    n = len(items)
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok and o.status == QuantumTaskStatus.COMPLETED for o in outcomes), [
        o.error for o in outcomes if not o.ok
    ]
    assert all(o.attempts == 1 and not o.resumed for o in outcomes)
    by_index = {o.index: o for o in outcomes}
    assert by_index[4].task is not None and by_index[4].task.shots == 7
    assert by_index[4].task.tags == {
        "batch": "kinds", "item": "request", TOKEN_TAG: batch.client_token(4)
    }
    assert by_index[5].task is not None and by_index[5].task.shots == 3
    assert by_index[5].task.output_s3_directory.startswith("camel/")
    # Exactly one task per item on the service, each under its item's token.
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == n
    on_service = created_on_service(local)
    assert {client_token_for(batch.batch_id or "", i) for i in range(n)} == set(on_service)
    assert {o.task_arn for o in outcomes} == set(on_service.values())
    # Progress: counts only grow, and the last call says everything completed.
    final = seen[-1]
    assert (final.total, final.submitted, final.completed, final.done) == (n, n, n, n)
    assert final.pending == 0 and final.finished
    assert [p.done for p in seen] == sorted(p.done for p in seen)


async def test_paced_by_the_rate_limiter_with_no_throttling(make_local: LocalFactory) -> None:
    # Quotas at a quarter of AWS's (CreateQuantumTask 5/s, burst 10) on both sides.
    local = await make_local(quotas=Quotas.aws_defaults(scale=0.25))
    async with session_on(local, rate_limits=RateLimits.aws_defaults(scale=0.25)) as braket:
        outcomes = await submit(braket, local, [ONE] * 20, max_in_flight=20).wait()
        stats = braket.rate_limiter.stats()["buckets"]["CreateQuantumTask"]
    assert all(o.ok for o in outcomes)
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == 20
    assert ledger["total_throttled"] == 0
    assert stats["delayed"] > 0  # the limiter, not the service, did the pacing


async def test_results_are_downloaded_for_completed_tasks(make_local: LocalFactory) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [BELL, BROKEN, ONE], shots=50)
        async with batch:
            streamed = [o async for o in batch.as_completed(results=True)]
            outcomes = await batch.results()
    assert_one_outcome_per_item(streamed, 3)
    bell, broken, one = outcomes
    assert bell.result is not None and sum(bell.result.counts.values()) == 50
    assert set(bell.result.counts) <= {"00", "11"}
    assert one.result is not None and one.result.counts == {"1": 50}
    # A program the simulator rejects: the task exists, ran, and FAILED.
    assert broken.task_arn is not None and broken.status == QuantumTaskStatus.FAILED
    assert isinstance(broken.error, errors.QuantumTaskFailed) and broken.result is None


async def test_untracked_batch_reports_items_once_created(make_local: LocalFactory) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [ONE] * 10, track=False)
        outcomes = await batch.wait()
        with pytest.raises(errors.ParameterError, match="track=True"):
            await batch.results()
    assert all(o.ok and o.task is None and o.task_arn for o in outcomes)
    calls = local.ledger.snapshot()["calls"]
    assert calls == {"CreateQuantumTask": 10}  # no tracking calls at all


async def test_outcomes_stream_while_items_are_still_being_submitted(
    make_local: LocalFactory,
) -> None:
    # One create a second: each task finishes long before the next exists, so the tracker
    # falls idle between creates; the batch's one tracking stream carries on.
    local = await make_local()
    limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(1.0, 1))
    n = 4
    progress: list[BatchProgress] = []
    seen: list[tuple[int, int]] = []  # (index, tasks created when it was reported)
    async with session_on(local, rate_limits=limits) as braket:
        batch = submit(braket, local, [ONE] * n, progress=progress.append)
        async with batch:
            async for outcome in batch:
                seen.append((outcome.index, batch.progress.submitted))
    assert sorted(index for index, _ in seen) == list(range(n))  # each once
    assert seen[0][1] < n  # reported before the last item was even created
    assert any(p.pending == 0 and 0 < p.submitted < n for p in progress)  # idle mid-batch
    assert progress[-1].completed == n and progress[-1].finished
    assert local.ledger.snapshot()["tasks_created"] == n


async def test_summaries_only_cost_no_get_per_completed_task(make_local: LocalFactory) -> None:
    local = await make_local()
    n_ok, n_bad = 40, 2
    items = [ONE] * n_ok + [BROKEN] * n_bad
    async with session_on(local) as braket:
        batch = submit(braket, local, items, details=False)
        async with batch:
            streamed = [o async for o in batch.as_completed(results=True)]
            outcomes = await batch.results()
    assert_one_outcome_per_item(streamed, len(items))
    completed, failed = outcomes[:n_ok], outcomes[n_ok:]
    for o in completed:
        assert o.ok and o.status == QuantumTaskStatus.COMPLETED
        assert o.task is None and o.summary is not None  # the search's summary, no get
        assert o.summary.quantum_task_arn == o.task_arn
        assert o.final_state is o.summary
        assert o.result is not None and o.result.counts == {"1": 10}  # read via the summary
    for o in failed:
        # An unsuccessful task still gets its full model, for the failure reason.
        assert o.status == QuantumTaskStatus.FAILED
        assert isinstance(o.error, errors.QuantumTaskFailed) and o.error.failure_reason
        assert o.task is not None and o.task.failure_reason == o.error.failure_reason
    calls = local.ledger.snapshot()["calls"]
    assert calls["CreateQuantumTask"] == len(items)
    # Full details cost one GetQuantumTask per task a search saw finish; summaries do not.
    assert calls.get("GetQuantumTask", 0) < n_ok // 2
    assert calls["SearchQuantumTasks"] > 0


async def test_options_tracker_tunes_the_batch_tracker(make_local: LocalFactory) -> None:
    """``BatchOptions.tracker`` is the batch's tracker's one value: with its sweeps turned
    off the batch follows its tasks by GetQuantumTask alone."""
    local = await make_local()
    n = 4
    no_sweeps = TrackerOptions(poll=FAST_POLL, sweep=SweepPolicy(enabled=False))
    async with session_on(local) as braket:
        outcomes = await submit(braket, local, [ONE] * n, details=False, tracker=no_sweeps).wait()
    assert all(o.ok and o.status == QuantumTaskStatus.COMPLETED for o in outcomes)
    calls = local.ledger.snapshot()["calls"]
    assert calls.get("SearchQuantumTasks", 0) == 0
    assert calls["GetQuantumTask"] >= n


# --------------------------------------------------------------------------- failures


async def test_one_bad_item_does_not_stop_the_others(make_local: LocalFactory) -> None:
    local = await make_local()
    items: list[Any] = [ONE] * 9
    items[2] = TaskRequest(action=ONE, output_s3_bucket="no-such-bucket-here")  # service: 400
    items[5] = TaskRequest(action="{not json", shots=1)  # client: ParameterError, never sent
    async with session_on(local) as braket:
        outcomes = await submit(braket, local, items).wait()
    assert isinstance(outcomes[2].error, errors.ValidationException)
    assert outcomes[2].task_arn is None and outcomes[2].attempts == 1
    assert isinstance(outcomes[5].error, errors.ParameterError)
    assert outcomes[5].error.field == "items[5].action" and outcomes[5].attempts == 0
    assert [o.ok for o in outcomes].count(True) == 7
    assert local.ledger.snapshot()["tasks_created"] == 7


async def test_fail_fast_stops_at_the_first_failure(make_local: LocalFactory) -> None:
    local = await make_local()
    items: list[Any] = [TaskRequest(action=ONE, output_s3_bucket="no-such-bucket-here")]
    items += [ONE] * 30
    async with session_on(local) as braket:
        batch = submit(braket, local, items, fail_fast=True, max_in_flight=1)
        async with batch:
            with pytest.raises(errors.ValidationException):
                await batch.wait()
        assert batch.progress.submitted == 0
    assert local.ledger.snapshot()["tasks_created"] == 0


async def test_faults_never_duplicate_or_lose_a_task(make_local: LocalFactory) -> None:
    faults = FaultConfig(
        per_operation={
            "CreateQuantumTask": FaultSpec(
                internal_error=0.1, throttle=0.1, drop_connection=0.1, drop_after_effect=0.15
            ),
            "GetQuantumTask": FaultSpec(internal_error=0.1, drop_connection=0.05),
            "SearchQuantumTasks": FaultSpec(internal_error=0.1, throttle=0.05),
        },
        seed=11,
    )
    local = await make_local(faults=faults, quotas=Quotas.off())
    n = 80
    config = NO_BOTOCORE_RETRIES
    async with session_on(local, config=config, rate_limits=RateLimits.off()) as braket:
        outcomes = await submit(braket, local, [ONE] * n, max_in_flight=16).wait()
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    ledger = local.ledger.snapshot()
    injected = ledger["faults"]["CreateQuantumTask"]
    assert injected["drop_after_effect"] > 0 and injected["internal_error"] > 0
    # (each lost answer was found by a search or its create replayed: see the test below)
    assert ledger["tasks_created"] == n
    assert len({o.task_arn for o in outcomes}) == n
    assert sum(o.attempts for o in outcomes) == ledger["calls"]["CreateQuantumTask"]


async def test_a_create_whose_answer_was_lost_is_found_by_its_tag_not_replayed(
    make_local: LocalFactory,
) -> None:
    """Every create takes effect and loses its answer: each item's task is found by one
    SearchQuantumTasks (its client-token tag), so no create is sent twice (a replay would
    take a second CreateQuantumTask token) and none is duplicated."""
    lost = FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(drop_after_effect=1.0)})
    local = await make_local(faults=lost)
    n = 6
    async with session_on(local, config=NO_BOTOCORE_RETRIES) as braket:
        batch = submit(braket, local, [ONE] * n, tags={"team": "q"}, max_in_flight=3)
        outcomes = await batch.wait()
        tasks = [await braket.get_quantum_task(o.task_arn) for o in outcomes if o.task_arn]
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok and o.attempts == 1 for o in outcomes), outcomes
    ledger = local.ledger.snapshot()
    assert ledger["calls"]["CreateQuantumTask"] == n
    assert ledger["client_token_replays"] == 0
    assert ledger["tasks_created"] == n
    assert [t.tags for t in tasks] == [
        {"team": "q", TOKEN_TAG: batch.client_token(i)} for i in range(n)
    ]


async def test_a_lost_create_that_took_no_effect_is_replayed(make_local: LocalFactory) -> None:
    """Dropped before effect: the search finds nothing, the item sends its create again."""
    dropped = FaultConfig(
        per_operation={"CreateQuantumTask": FaultSpec(drop_connection=0.5)}, seed=4
    )
    local = await make_local(faults=dropped)
    n = 8
    async with session_on(local, config=NO_BOTOCORE_RETRIES) as braket:
        outcomes = await submit(braket, local, [ONE] * n, max_in_flight=4).wait()
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    ledger = local.ledger.snapshot()
    assert ledger["faults"]["CreateQuantumTask"]["drop_connection"] > 0
    assert ledger["tasks_created"] == n
    assert sum(o.attempts for o in outcomes) == ledger["calls"]["CreateQuantumTask"] > n


async def test_the_fault_mix_at_quota_speed_creates_each_task_exactly_once(
    make_local: LocalFactory,
) -> None:
    """The issue's mix on every operation, with the service's quotas, botocore's own retries
    and the client's limiter all on (the defaults a user gets): every attempt, retries
    included, is paced under the quota, and only the injected 429s slow the limiter."""
    faults = FaultConfig(
        default=FaultSpec(
            internal_error=0.10, throttle=0.05, drop_connection=0.05, drop_after_effect=0.05
        ),
        seed=3,
    )
    scale = 2.0  # CreateQuantumTask 40/s: a 120-task batch stays quick
    local = await make_local(faults=faults, quotas=Quotas.aws_defaults(scale=scale))
    n = 120
    async with session_on(local, rate_limits=RateLimits.aws_defaults(scale=scale)) as braket:
        outcomes = await submit(braket, local, [ONE] * n, details=False).wait()
        bucket = braket.rate_limiter.stats()["buckets"]["CreateQuantumTask"]
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    ledger = local.ledger.snapshot()
    injected = ledger["faults"]["CreateQuantumTask"]
    assert min(injected.values()) > 0, injected  # every kind of fault happened
    assert ledger["tasks_created"] == n  # no duplicates...
    assert len({o.task_arn for o in outcomes}) == n  # ...and none lost
    # Retries took tokens too, so the service's own quota (nearly) never had to throttle:
    # only network jitter on a loaded machine can bunch paced requests past its bucket.
    calls = ledger["calls"]["CreateQuantumTask"]
    quota_429s = ledger["throttled"].get("CreateQuantumTask", 0)
    assert bucket["acquired"] == calls
    assert quota_429s <= 0.02 * calls
    # 500s and dropped connections are no throttle signal: only the 429s were counted.
    assert bucket["throttles"] == injected["throttle"] + quota_429s


async def test_retries_exhausted_leave_the_item_failed(make_local: LocalFactory) -> None:
    local = await make_local(
        faults=FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(internal_error=1.0)})
    )
    retry = RetryBudget(max_consecutive=2, initial=0.001, maximum=0.002)
    config = NO_BOTOCORE_RETRIES
    async with session_on(local, config=config) as braket:
        (outcome,) = await submit(braket, local, [ONE], retry=retry).wait()
    assert isinstance(outcome.error, errors.InternalServiceException)
    assert outcome.attempts == 3
    assert "retry budget spent" in "".join(getattr(outcome.error, "__notes__", []))


ALWAYS_500 = FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(internal_error=1.0)})


async def test_a_systematic_server_error_is_not_retried_into_a_storm(
    make_local: LocalFactory,
) -> None:
    """Issue #20: a 2-item batch whose creates the service answers with the same 500 every
    time (a bad output bucket did) made 66 attempts over 59 s. With botocore's own retries
    (the default config) and a lenient retry budget, each item now ends after
    ``server_error_attempts`` (5) attempts, every one of them one create on the wire."""
    local = await make_local(faults=ALWAYS_500)
    async with session_on(local) as braket:
        outcomes = await submit(braket, local, [ONE, BELL]).wait()
    attempts = local.ledger.snapshot()["calls"]["CreateQuantumTask"]
    assert attempts <= 10
    assert sum(o.attempts for o in outcomes) == attempts
    for outcome in outcomes:
        assert outcome.task_arn is None and outcome.attempts == 5
        assert isinstance(outcome.error, errors.InternalServiceException)
        notes = "".join(getattr(outcome.error, "__notes__", []))
        assert "5 attempts answered InternalServiceException" in notes


async def test_server_error_attempts_is_settable(make_local: LocalFactory) -> None:
    local = await make_local(faults=ALWAYS_500)
    async with session_on(local) as braket:
        (outcome,) = await submit(braket, local, [ONE], server_error_attempts=2).wait()
        assert outcome.attempts == 2
        # None: only the retry budget bounds it (botocore's retries stay off)
        budget = RetryBudget(max_consecutive=6, initial=0.001, maximum=0.002)
        (outcome,) = await submit(
            braket, local, [ONE], server_error_attempts=None, retry=budget
        ).wait()
        assert outcome.attempts == 7
    assert local.ledger.snapshot()["calls"]["CreateQuantumTask"] == 9


async def test_create_quantum_task_alone_keeps_botocores_three_attempts(
    make_local: LocalFactory,
) -> None:
    """Outside a batch a create is retried by botocore only (standard mode: 3 attempts)."""
    local = await make_local(faults=ALWAYS_500)
    async with session_on(local) as braket:
        with pytest.raises(errors.InternalServiceException):
            await braket.create_quantum_task(
                action=ONE, device_arn=SV1, shots=10, output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="alone",
            )  # fmt: skip
    assert local.ledger.snapshot()["calls"]["CreateQuantumTask"] == 3


async def test_mostly_server_errors_pause_the_whole_batch(
    make_local: LocalFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """When most recent creates are answered with 5xx the batch-wide breaker pauses every
    create (1 s, doubling), instead of each of 16 workers retrying on its own schedule."""
    local = await make_local(faults=ALWAYS_500, quotas=Quotas.off())
    delays: list[float] = []

    async def sleep(delay: float) -> None:  # records the pauses, waits almost nothing
        delays.append(delay)
        await asyncio.sleep(0.001)

    n = 24
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        outcomes = await submit(braket, local, [ONE] * n, max_in_flight=16, sleep=sleep).wait()
    assert all(isinstance(o.error, errors.InternalServiceException) for o in outcomes)
    assert local.ledger.snapshot()["calls"]["CreateQuantumTask"] <= 5 * n
    # FAST_RETRY backs off at most 0.05 s: the longer sleeps are the breaker's pauses
    pauses = sorted({d for d in delays if d > FAST_RETRY.maximum})
    assert pauses and pauses[0] <= 1.0 and max(pauses) > 1.0, delays
    assert any("pausing every create" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- crash and resume


@file_store_only
async def test_crash_and_resume_creates_each_task_exactly_once(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    local = await make_local(
        faults=FaultConfig(
            per_operation={"CreateQuantumTask": FaultSpec(drop_after_effect=0.1)}, seed=5
        ),
        quotas=Quotas.off(),
    )
    manifest = tmp_path / "batch.jsonl"
    n = 60
    items = [ONE] * n
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        # Run until 25 tasks exist, then "crash": stop everything mid-flight.
        first = submit(braket, local, items, manifest=manifest, track=False, max_in_flight=8)
        async for _ in first:
            if first.progress.submitted >= 25:
                break
        await first.aclose()
        recorded = manifest.read_text().splitlines()
        # The crash also lost the last 5 manifest lines and tore the one before them.
        kept, torn = recorded[:-6], recorded[-6][: len(recorded[-6]) // 2]
        manifest.write_text("\n".join(kept) + "\n" + torn)
        resumed_indices = {json.loads(line)["index"] for line in kept[1:]}
        before = local.ledger.snapshot()
        assert before["tasks_created"] >= 25

        with pytest.raises(errors.ParameterError, match="already holds a batch"):
            await submit(braket, local, items, manifest=manifest).wait()
        with pytest.raises(errors.ParameterError, match="has 60 items, got 59"):
            await submit(braket, local, items[:-1], resume=manifest).wait()

        second = submit(braket, local, items, resume=manifest)
        async with second:
            outcomes = await second.wait()
    assert second.batch_id == first.batch_id
    assert_one_outcome_per_item(outcomes, n)
    assert all(o.ok and o.status == QuantumTaskStatus.COMPLETED for o in outcomes)
    assert {o.index for o in outcomes if o.resumed} == resumed_indices
    assert all(o.attempts == 0 for o in outcomes if o.resumed)
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == n  # nothing created twice...
    assert len({o.task_arn for o in outcomes}) == n  # ...and nothing lost
    # Lost manifest lines were recovered by sending the same token again.
    assert ledger["client_token_replays"] - before["client_token_replays"] >= 5
    # The torn line is gone and the manifest records every task.
    records = [json.loads(line) for line in manifest.read_text().splitlines()[1:]]
    assert {r["index"] for r in records if r["kind"] == "task"} == set(range(n))


# --------------------------------------------------------------------------- cancel


async def test_cancel_cancels_what_was_created_and_reports_the_rest(
    make_local: LocalFactory,
) -> None:
    local = await make_local(queue_delay=3600.0, quotas=Quotas.off())
    # Creates at 20/s: the 40 take 2 s, so the cancel (after 6) leaves items unsent with
    # either store, however late a store's progress counters are read.
    limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(20.0, 2))
    async with session_on(local, rate_limits=limits) as braket:
        six = asyncio.Event()

        def watch(progress: BatchProgress) -> None:
            if progress.submitted >= 6:
                six.set()

        batch = submit(braket, local, [ONE] * 40, max_in_flight=2, progress=watch)
        async with batch:
            await six.wait()
            cancelled = await batch.cancel()
            outcomes = await batch.wait()
    created = [o for o in outcomes if o.task_arn is not None]
    assert len(created) == len(cancelled) >= 6
    assert set(cancelled) == {o.task_arn for o in created}
    assert all(o.status == QuantumTaskStatus.CANCELLED for o in created)
    assert all(isinstance(o.error, errors.QuantumTaskCancelled) for o in created)
    rest = [o for o in outcomes if o.task_arn is None]
    assert rest and all(isinstance(o.error, ItemNotSubmitted) for o in rest)
    assert len(created) + len(rest) == 40
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == ledger["tasks_cancelled"] == len(created)


async def test_items_a_cancel_kept_from_being_sent_are_not_submitted(
    make_local: LocalFactory, tmp_path: Path
) -> None:
    """Issue #20 (9): an item a cancel kept from being sent has its own state, distinct from a
    failed create, in its outcome, the progress counts and the manifest; a resume reads the
    manifest back and sends exactly those items (and the failed one) again."""
    local = await make_local(queue_delay=3600.0, quotas=Quotas.off())
    manifest = tmp_path / "cancelled.jsonl"
    n = 30
    # item 0: the service refuses it (400, a failed create)
    items = [TaskRequest(action=ONE, output_s3_bucket="no-such-bucket-here"), *[ONE] * (n - 1)]
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        five = asyncio.Event()
        batch = submit(
            braket, local, items, max_in_flight=2, manifest=manifest,
            progress=lambda p: five.set() if p.submitted >= 5 else None,
        )  # fmt: skip
        async with batch:
            await five.wait()
            await batch.cancel()
            outcomes = await batch.wait()
        by_state: dict[BatchItemState, list[BatchOutcome]] = {}
        for outcome in outcomes:
            by_state.setdefault(outcome.state, []).append(outcome)
        assert set(by_state) == {
            BatchItemState.SUBMIT_FAILED, BatchItemState.CANCELLED, BatchItemState.NOT_SUBMITTED
        }  # fmt: skip
        (failed,) = by_state[BatchItemState.SUBMIT_FAILED]
        assert failed.index == 0 and isinstance(failed.error, errors.ValidationException)
        unsent = by_state[BatchItemState.NOT_SUBMITTED]
        assert all(isinstance(o.error, ItemNotSubmitted) and o.attempts == 0 for o in unsent)
        assert all(o.state == "CANCELLED" for o in by_state[BatchItemState.CANCELLED])
        progress = batch.progress
        assert (progress.submit_failed, progress.not_submitted) == (1, len(unsent))

        state = read_manifest(manifest)
        assert state.states == {
            **{o.index: BatchItemState.SUBMITTED for o in by_state[BatchItemState.CANCELLED]},
            0: BatchItemState.SUBMIT_FAILED,
            **{o.index: BatchItemState.NOT_SUBMITTED for o in unsent},
        }
        before = local.ledger.snapshot()["calls"]["CreateQuantumTask"]

        resumed = await submit(braket, local, items, resume=manifest, track=False).wait()
    calls = local.ledger.snapshot()["calls"]["CreateQuantumTask"] - before
    assert calls == len(unsent) + 1  # the unsent items and the failed one, nothing else
    again = {o.index: o.state for o in resumed}
    assert again[0] == BatchItemState.SUBMIT_FAILED
    assert {again[o.index] for o in unsent} == {BatchItemState.SUBMITTED}
    assert local.ledger.snapshot()["tasks_created"] == n - 1  # no task twice
    assert read_manifest(manifest).states == {
        0: BatchItemState.SUBMIT_FAILED, **dict.fromkeys(range(1, n), BatchItemState.SUBMITTED)
    }


async def test_cancel_of_a_finished_closed_batch_has_nothing_to_do(
    make_local: LocalFactory,
) -> None:
    """It raised "this batch is closed; cancel it before closing" (the FastAPI example's 502)."""
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [ONE, ONE])
        async with batch:
            outcomes = await batch.wait()
        assert {o.state for o in outcomes} == {BatchItemState.COMPLETED}
        assert await batch.cancel() == ()
        unfinished = submit(braket, local, [ONE] * 3)
        await unfinished.aclose()  # closed before it was started: outcomes outstanding
        with pytest.raises(errors.SessionStateError, match="closed with outcomes outstanding"):
            await unfinished.cancel()
    assert local.ledger.snapshot()["calls"].get("CancelQuantumTask", 0) == 0


async def test_cancel_finds_tasks_whose_create_response_was_lost(
    make_local: LocalFactory,
) -> None:
    local = await make_local(
        queue_delay=3600.0,
        quotas=Quotas.off(),
        faults=FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(drop_after_effect=1.0)}),
    )
    config = NO_BOTOCORE_RETRIES
    async with session_on(local, config=config, rate_limits=RateLimits.off()) as braket:
        slow_retry = RetryBudget(max_consecutive=100, initial=5.0, maximum=5.0)
        batch = submit(braket, local, [ONE] * 4, retry=slow_retry)
        async with batch:
            await eventually(lambda: local.ledger.snapshot()["tasks_created"] == 4)
            assert batch.task_arns == {}  # created on the service, but no response came back
            local.faults = None
            cancelled = await batch.cancel()
            outcomes = await batch.wait()
    assert len(cancelled) == 4, outcomes
    assert all(o.status == QuantumTaskStatus.CANCELLED for o in outcomes)
    ledger = local.ledger.snapshot()
    assert ledger["tasks_created"] == ledger["tasks_cancelled"] == 4


# --------------------------------------------------------------------------- anchoring


async def test_creates_queued_on_the_rate_limiter_are_tracked_as_just_created(
    make_local: LocalFactory,
) -> None:
    # 12 creates at 10/s: the last waits ~1.1 s on the limiter, well past the tracker's
    # created_at_slack (0.3 s), yet each is answered at its first attempt: its task was
    # made just now, so no task is located by ARN (sweeps and gets follow them).
    local = await make_local()
    limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(10.0, 1))
    tracker = attrs.evolve(FAST_TRACKER, sweep=attrs.evolve(FAST_SWEEP, created_at_slack=0.3))
    async with session_on(local, rate_limits=limits) as braket:
        batch = submit(braket, local, [ONE] * 12, tracker=tracker, details=False)
        async with batch:
            outcomes = await batch.wait()
    assert all(o.ok for o in outcomes)
    stats = batch.tracker_stats
    assert stats is not None and stats.locate_sweeps == stats.arn_sweeps == 0, stats


async def test_a_retried_slow_create_is_located_by_arn(make_local: LocalFactory) -> None:
    # Every first attempt creates its task but loses the answer: the task of a retried
    # create may have been made by an earlier attempt, more than created_at_slack before
    # the answer, so the tracker locates it by ARN.
    local = await make_local(
        quotas=Quotas.off(),
        faults=FaultConfig(per_operation={"CreateQuantumTask": FaultSpec(drop_after_effect=1.0)}),
    )
    # no slack: any retried create counts as slow
    tracker = attrs.evolve(FAST_TRACKER, sweep=attrs.evolve(FAST_SWEEP, created_at_slack=0.0))
    retry = RetryBudget(max_consecutive=100, initial=0.05, maximum=0.1)
    async with session_on(local, config=NO_BOTOCORE_RETRIES, rate_limits=RateLimits.off()) as b:
        batch = submit(b, local, [ONE] * 4, tracker=tracker, retry=retry, details=False)
        async with batch:
            await eventually(lambda: local.ledger.snapshot()["tasks_created"] == 4)
            await asyncio.sleep(0.5)
            local.faults = None
            outcomes = await batch.wait()
    assert all(o.ok for o in outcomes) and local.ledger.snapshot()["tasks_created"] == 4
    stats = batch.tracker_stats
    assert stats is not None and stats.arn_sweeps + stats.get_calls >= 1, stats


@file_store_only
async def test_resume_checks_the_manifest(make_local: LocalFactory, tmp_path: Path) -> None:
    local = await make_local()
    manifest = tmp_path / "m.jsonl"
    async with session_on(local) as braket:
        with pytest.raises(errors.ParameterError, match="does not exist") as missing:
            await submit(braket, local, [ONE], resume=manifest).wait()
        assert missing.value.field == "resume"
        first = await submit(braket, local, [ONE] * 3, manifest=manifest, batch_id="run-1").wait()
        with pytest.raises(errors.ParameterError, match="belongs to batch 'run-1'"):
            await submit(braket, local, [ONE] * 3, resume=manifest, batch_id="run-2").wait()
        # Resuming a finished batch sends nothing and reports every task again.
        calls = local.ledger.snapshot()["calls"].get("CreateQuantumTask", 0)
        again = submit(braket, local, [ONE] * 3, resume=manifest)
        outcomes = await again.wait()
    assert again.batch_id == "run-1"
    assert [o.task_arn for o in outcomes] == [o.task_arn for o in first]
    assert all(o.resumed and o.ok for o in outcomes)
    assert local.ledger.snapshot()["calls"].get("CreateQuantumTask", 0) == calls


async def test_an_error_in_the_progress_callback_stops_the_batch(
    make_local: LocalFactory,
) -> None:
    local = await make_local()

    def broken(progress: BatchProgress) -> None:
        if progress.submitted:
            raise RuntimeError("progress bar bug")

    # Creates at 20/s: the 40 take 2 s, so the callback's error stops the batch with items
    # unsent with either store, however late a store's progress counters are read.
    limits = RateLimits.aws_defaults(CreateQuantumTask=Rate(20.0, 2))
    async with session_on(local, rate_limits=limits) as braket:
        batch = submit(braket, local, [ONE] * 40, progress=broken, max_in_flight=1)
        async with batch:
            with pytest.raises(RuntimeError, match="progress bar bug"):
                await batch.wait()
    assert 0 < local.ledger.snapshot()["tasks_created"] < 40


async def test_cancel_before_start_sends_nothing(make_local: LocalFactory) -> None:
    local = await make_local()
    async with session_on(local) as braket:
        batch = submit(braket, local, [ONE] * 5)
        assert await batch.cancel() == ()
        outcomes = await batch.wait()
        assert await batch.wait() == outcomes  # final: awaiting again returns the same
    assert all(isinstance(o.error, ItemNotSubmitted) and o.attempts == 0 for o in outcomes)
    assert batch.progress.not_submitted == 5
    assert local.ledger.snapshot()["total_calls"] == 0


# --------------------------------------------------------------------------- progress


async def run_observed(
    local: LocalBraket, n: int, progress: Callable[[BatchProgress], object] | None
) -> dict[str, int]:
    """A details=False batch of ``n`` tasks at the tracker's default pace; its ledger calls."""
    async with session_on(local, rate_limits=RateLimits.off()) as braket:
        batch = braket.submit_batch(
            [ONE] * n,
            device_arn=SV1,
            shots=10,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="progress",
            details=False,
            options=BatchOptions(tracker=TrackerOptions(sweep=SweepPolicy(active_interval=1.0))),
            progress=progress,
            store=STORE[0],
        )
        async with batch:
            outcomes = await batch.wait()
    assert all(o.ok for o in outcomes) and len(outcomes) == n
    calls: dict[str, int] = local.ledger.snapshot()["calls"]
    return calls


async def test_progress_counts_queued_and_running_tasks_at_bounded_cost(
    make_local: LocalFactory,
) -> None:
    n = 120
    seen: list[BatchProgress] = []
    observed, quiet = await asyncio.gather(
        make_local(queue_delay=1.5, run_delay=1.5, quotas=Quotas.off()),
        make_local(queue_delay=1.5, run_delay=1.5, quotas=Quotas.off()),
    )
    with_progress, without = await asyncio.gather(
        run_observed(observed, n, seen.append), run_observed(quiet, n, None)
    )
    assert any(p.queued > 0 for p in seen)
    assert any(p.running > 0 for p in seen)
    for p in seen:
        assert 0 <= p.queued + p.running <= p.pending
        assert p.pending == p.submitted - p.completed - p.failed - p.cancelled
    assert seen[-1].finished and seen[-1].queued == seen[-1].running == seen[-1].pending == 0
    assert with_progress["CreateQuantumTask"] == without["CreateQuantumTask"] == n
    # No per-task gets either way (the tracker may ask a last straggler directly, one get
    # being cheaper than a search page).
    assert with_progress.get("GetQuantumTask", 0) <= 0.02 * n
    assert without.get("GetQuantumTask", 0) <= 0.02 * n
    # Learning queued / running costs a few search pages, not calls per task: the batch
    # stays near one call per item (about 1.08 measured, against 1.05 without a callback).
    assert sum(with_progress.values()) <= 1.2 * n
    assert with_progress["SearchQuantumTasks"] <= without["SearchQuantumTasks"] + 0.1 * n
