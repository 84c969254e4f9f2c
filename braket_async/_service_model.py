"""Braket's service model as botocore ships it, loaded once for the whole package.

The client's validator and error classes and the local service's routes and error answers
all read it, so an operation, a member or an error's HTTP status is written nowhere else.
"""

from __future__ import annotations

import botocore.loaders
import botocore.model

__all__ = ["ERROR_CODES", "SERVICE_MODEL", "error_status"]

#: Braket's service model (``botocore/data/braket/2019-09-01/service-2.json``).
SERVICE_MODEL = botocore.model.ServiceModel(
    botocore.loaders.create_loader().load_service_model("braket", "service-2"), "braket"
)

#: The codes of the model's error shapes (``ValidationException``, ...).
ERROR_CODES: frozenset[str] = frozenset(shape.name for shape in SERVICE_MODEL.error_shapes)


def error_status(code: str) -> int:
    """The HTTP status the model gives the error shape ``code`` (e.g. 400 for
    ``ValidationException``); ``botocore.model.NoShapeFoundError`` for a code the model
    does not have."""
    shape = SERVICE_MODEL.shape_for(code)
    status: int = shape.metadata["error"]["httpStatusCode"]
    return status
