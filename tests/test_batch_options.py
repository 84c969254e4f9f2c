"""BatchOptions: the rarely used batch settings as one immutable value; a bad value names its
field and the rule, before anything is sent."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from _common import BELL, SV1, session_on

from braket_async import BatchOptions, RetryBudget, SweepPolicy, TrackerOptions, errors
from braket_async.batch import DEFAULT_BATCH_RETRY
from braket_async.local import LocalBraket


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"max_in_flight": 0}, "max_in_flight", "must be an int >= 1, got 0"),
        ({"max_in_flight": 2.5}, "max_in_flight", "must be an int >= 1, got 2.5"),
        ({"max_in_flight": True}, "max_in_flight", "must be an int >= 1, got True"),
        ({"batch_id": ""}, "batch_id", "must be 1-40 characters of [A-Za-z0-9._:-]"),
        ({"batch_id": "-leading-dash"}, "batch_id", "must be 1-40 characters"),
        ({"batch_id": 7}, "batch_id", "must be 1-40 characters"),
        ({"fail_fast": "yes"}, "fail_fast", "must be a bool, got 'yes'"),
        ({"fsync": 1}, "fsync", "must be a bool, got 1"),
        ({"retry": 3}, "retry", "must be a RetryBudget, got 3"),
        ({"retry": None}, "retry", "must be a RetryBudget, got None"),
        ({"server_error_attempts": 0}, "server_error_attempts", "must be an int >= 1 or None"),
        ({"server_error_attempts": True}, "server_error_attempts", "must be an int >= 1"),
        ({"server_error_attempts": "5"}, "server_error_attempts", "must be an int >= 1"),
        ({"tracker": None}, "tracker", "must be a TrackerOptions, got None"),
        ({"tracker": SweepPolicy()}, "tracker", "must be a TrackerOptions, got SweepPolicy("),
        ({"sleep": 0.1}, "sleep", "must be callable, got 0.1"),
        ({"clock": "now"}, "clock", "must be callable, got 'now'"),
    ],
)
def test_a_bad_option_names_its_field_and_rule(
    changes: dict[str, Any], field: str, rule: str
) -> None:
    with pytest.raises(errors.ParameterError) as info:
        BatchOptions(**changes)
    assert info.value.field == field
    assert rule in info.value.rule
    # evolve() checks the same rules: no way around them
    with pytest.raises(errors.ParameterError, match=field):
        attrs.evolve(BatchOptions(), **changes)


def test_options_are_immutable_with_documented_defaults() -> None:
    options = BatchOptions()
    assert options == BatchOptions(
        max_in_flight=50,
        batch_id=None,
        fail_fast=False,
        retry=DEFAULT_BATCH_RETRY,
        server_error_attempts=5,
        tracker=TrackerOptions(),
        fsync=False,
        sleep=None,
        clock=None,
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        options.max_in_flight = 3  # type: ignore[misc]
    faster = TrackerOptions(sweep=SweepPolicy(min_interval=0.1))
    tuned = attrs.evolve(options, max_in_flight=4, tracker=faster)
    assert (tuned.max_in_flight, options.max_in_flight) == (4, 50)
    assert (tuned.tracker.sweep.min_interval, options.tracker.sweep.min_interval) == (0.1, 1.0)
    assert tuned.retry is DEFAULT_BATCH_RETRY
    assert BatchOptions(retry=RetryBudget(max_consecutive=2)).retry.max_consecutive == 2


@pytest.mark.parametrize("name", ["poll", "sweep", "observe_active"])
def test_the_former_tracker_keywords_point_at_tracker_options(name: str) -> None:
    with pytest.raises(TypeError, match=rf"no {name}: .* tracker=TrackerOptions\({name}=\.\.\.\)"):
        BatchOptions(**{name: None})
    with pytest.raises(TypeError, match=rf"tracker=TrackerOptions\({name}=\.\.\.\)"):
        attrs.evolve(BatchOptions(), **{name: None})


async def test_submit_batch_refuses_options_of_another_type_before_the_network(
    make_local: Any,
) -> None:
    local: LocalBraket = await make_local()
    async with session_on(local) as braket:
        with pytest.raises(errors.ParameterError) as info:
            braket.submit_batch(
                [BELL],
                device_arn=SV1,
                shots=10,
                output_s3_bucket=local.default_bucket,
                output_s3_key_prefix="options",
                options={"max_in_flight": 2},  # type: ignore[arg-type]
            )
        assert info.value.field == "options"
        assert "must be a BatchOptions" in info.value.rule
    assert local.ledger.snapshot()["total_calls"] == 0


async def test_the_options_reach_the_batch(make_local: Any) -> None:
    """batch_id names the client tokens; max_in_flight bounds concurrent creates (as the
    progress callback sees them)."""
    local: LocalBraket = await make_local()
    submitting: list[int] = []
    async with session_on(local) as braket:
        batch = braket.submit_batch(
            [BELL] * 6,
            device_arn=SV1,
            shots=10,
            output_s3_bucket=local.default_bucket,
            output_s3_key_prefix="options",
            track=False,
            progress=lambda p: submitting.append(p.submitting),
            options=BatchOptions(batch_id="opts-1", max_in_flight=2),
        )
        outcomes = await batch.wait()
    assert [o.client_token for o in outcomes] == [f"opts-1-{i}" for i in range(6)]
    assert all(o.ok for o in outcomes)
    assert 1 <= max(submitting) <= 2
    tokens = {t.client_token for t in local.store.task_list}
    assert tokens == {f"opts-1-{i}" for i in range(6)}
