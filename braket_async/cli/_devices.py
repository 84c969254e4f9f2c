"""``braket-async devices``: the devices the account can use, as a table."""

from __future__ import annotations

import argparse

from ..models import DeviceFilter
from ._context import Context
from ._errors import EXIT_OK

__all__ = ["list_devices"]


async def list_devices(ctx: Context, args: argparse.Namespace) -> int:
    """Print every device (or those named by ``--arn``): name, provider, type, status, ARN."""
    filters = [DeviceFilter(name="deviceArn", values=tuple(args.arn))] if args.arn else []
    devices = [device async for device in ctx.braket.iter_devices(filters=filters)]
    # Usable devices first, then by type (simulators before QPUs) and name.
    devices.sort(key=lambda d: (d.device_status != "ONLINE", d.device_type, d.device_name))
    if ctx.out.json_mode:
        ctx.out.json(
            [
                {
                    "arn": d.device_arn,
                    "name": d.device_name,
                    "provider": d.provider_name,
                    "type": str(d.device_type),
                    "status": str(d.device_status),
                }
                for d in devices
            ]
        )
        return EXIT_OK
    ctx.out.table(
        ["name", "provider", "type", "status", "ARN"],
        [
            (d.device_name, d.provider_name, d.device_type, d.device_status, d.device_arn)
            for d in devices
        ],
        title=f"{len(devices)} devices",
    )
    return EXIT_OK
