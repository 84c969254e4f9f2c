"""Device models (GetDevice, SearchDevices)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import attrs

from .common import _parse_json_object
from .enums import DeviceStatus, DeviceType, QueueName, QueuePriority

__all__ = ["SV1_ARN", "Device", "DeviceQueueInfo", "DeviceSummary"]

#: Amazon Braket's state-vector simulator (available in every Braket region).
SV1_ARN = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


@attrs.frozen
class DeviceQueueInfo:
    """Size of one of a device's queues."""

    queue: QueueName
    queue_size: str
    queue_priority: QueuePriority | None = None


@attrs.frozen
class Device:
    """A device as returned by GetDevice.

    ``device_capabilities`` is the wire JSON string; ``capabilities`` is it parsed.
    """

    device_arn: str
    device_name: str
    provider_name: str
    device_type: DeviceType
    device_status: DeviceStatus
    device_capabilities: str
    device_queue_info: tuple[DeviceQueueInfo, ...] = ()

    @cached_property
    def capabilities(self) -> dict[str, Any]:
        """``device_capabilities`` parsed."""
        return _parse_json_object(self.device_capabilities)

    @property
    def is_available(self) -> bool:
        """Whether the device is ONLINE."""
        return self.device_status == DeviceStatus.ONLINE


@attrs.frozen
class DeviceSummary:
    """One device of a SearchDevices page."""

    device_arn: str
    device_name: str
    provider_name: str
    device_type: DeviceType
    device_status: DeviceStatus
