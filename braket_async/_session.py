"""BraketSession: the public face, a :class:`~braket_async._client.BraketClient` plus the
features built on a whole client (the task tracker and batches)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from ._base import delegate
from ._client import BraketClient
from .batch import BatchSubmitter
from .events import EventFeed
from .tracking import TaskTracker, TrackerOptions

__all__ = ["BraketSession"]


class BraketSession(BraketClient):
    """An open connection to Amazon Braket (or a local Braket service).

    ::

        async with BraketSession(region_name="us-east-1") as braket:
            task = await braket.get_quantum_task(arn)

    Region: ``region_name``, else ``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile's
    region. Endpoints: the explicit arguments, else botocore's ``AWS_ENDPOINT_URL_BRAKET`` /
    ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` / ``AWS_ENDPOINT_URL``.
    ``config`` (a botocore ``Config``) is merged over the session's defaults: a connection
    pool of ``max_pool_connections`` and botocore's ``standard`` retries (not ``adaptive``:
    its one rate bucket per client would let a throttled CreateQuantumTask slow every other
    call; the session's per-operation limiter is the only pacer). ``rate_limits`` defaults to
    :meth:`RateLimits.aws_defaults`; pass :meth:`RateLimits.off` to send unthrottled.

    ``events``: Braket's state-change events, as an :class:`~braket_async.events.EventFeed` or
    the URL of the SQS queue an EventBridge rule delivers them to (an
    :class:`~braket_async.events.SqsEventSource` on this session's SQS client, checked at open
    and closed with the session). The waiters then wake on an event instead of polling, with
    a slow poll as safety net; :attr:`events` exposes the feed to the tracker. The SQS and
    EventBridge clients use ``sqs_endpoint_url`` / ``events_endpoint_url`` (else botocore's
    ``AWS_ENDPOINT_URL_SQS`` / ``AWS_ENDPOINT_URL_EVENTBRIDGE`` / ``AWS_ENDPOINT_URL``).

    Credentials: ``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token``,
    else botocore's chain (environment, profile, SSO, instance roles). ``session`` takes an
    aiobotocore ``AioSession`` you configured (its profile, credentials, region and event
    hooks are used as they are; it is not modified or closed). ``credentials_provider`` is an
    async function returning ``{"access_key", "secret_key", "token", "expiry_time"}``, put
    first in the session's credential chain and called again by aiobotocore before the
    credentials expire (an STS AssumeRole, a vault lookup); see
    :mod:`braket_async._credentials`.

    A session belongs to the event loop that opened it and cannot be reopened once closed.

    Args:
        region_name: The AWS region (any string for a local service).
        endpoint_url: The Braket endpoint (a local service's ``endpoint_url``).
        profile_name: The AWS profile.
        aws_access_key_id: Static credentials' key id.
        aws_secret_access_key: Static credentials' secret.
        aws_session_token: Static credentials' session token.
        config: A botocore ``Config`` merged over the session's defaults.
        s3_endpoint_url: The S3 endpoint for results and job uploads.
        logs_endpoint_url: The CloudWatch Logs endpoint for job logs.
        max_pool_connections: Connection pool size of each client (>= 1).
        rate_limits: Client-side rate limits (default: the AWS default quotas).
        telemetry: Where spans and metrics go (default: OpenTelemetry's global providers).
        sleep: The sleep every waiting loop uses (tests inject a fake).
        clock: The monotonic clock every waiting loop uses.
        events: An ``EventFeed`` or the URL of the SQS queue Braket's events reach.
        sqs_endpoint_url: The SQS endpoint for ``events``.
        events_endpoint_url: The EventBridge endpoint.
        session: An aiobotocore ``AioSession`` to use as it is.
        credentials_provider: An async function returning refreshable credentials.

    Raises:
        ParameterError: An argument breaks its rule, or two credential sources conflict.
    """

    # -- tracker -------------------------------------------------------------------------------

    def track(
        self,
        arns: Iterable[str] = (),
        *,
        options: TrackerOptions | None = None,
        on_status_change: Callable[[], object] | None = None,
        events: EventFeed | None = None,
    ) -> TaskTracker:
        """A :class:`~braket_async.tracking.TaskTracker` on this session, following ``arns``
        (located in the first sweep, however long ago they were created).

        Args:
            arns: Task ARNs to follow (more can be added with ``tracker.add``).
            options: A :class:`~braket_async.tracking.TrackerOptions` value: the poll
                schedule, the sweep policy, ``observe_active`` to learn which pending tasks
                are QUEUED or RUNNING (``tracker.status_counts()``) at a bounded extra cost.
            on_status_change: Called after each round in which a pending status changed.
            events: An event feed to take statuses from, by default the session's
                (``BraketSession(events=...)``); a slow sweep stays as the safety net.

        Returns:
            The tracker (``async with`` it, then iterate ``as_completed()``).
        """
        tracker = TaskTracker(
            self,
            options=options,
            on_status_change=on_status_change,
            events=events if events is not None else self.events,
        )
        for arn in arns:
            tracker.add(arn)
        return tracker

    # -- batches: ``batch.BatchSubmitter`` --------------------------------------------------

    submit_batch = delegate("_batches", BatchSubmitter.submit_batch)
    attach_batch = delegate("_batches", BatchSubmitter.attach_batch)

    @functools.cached_property
    def _batches(self) -> BatchSubmitter:
        return BatchSubmitter(self)
