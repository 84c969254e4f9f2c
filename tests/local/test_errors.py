"""The local service's error answers carry the statuses of Braket's service model."""

from __future__ import annotations

from braket_async import errors as client_errors
from braket_async._service_model import SERVICE_MODEL
from braket_async.local import _errors


def _service_error_classes() -> list[type[_errors.ServiceError]]:
    found: list[type[_errors.ServiceError]] = []
    pending: list[type[_errors.ServiceError]] = [_errors.ServiceError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_braket_code_the_service_answers_has_the_model_status() -> None:
    modeled = {s.name: s.metadata["error"]["httpStatusCode"] for s in SERVICE_MODEL.error_shapes}
    answered = {cls.code: cls.status for cls in _service_error_classes() if cls.code in modeled}
    # every modeled error can be answered, each with the status the client maps back
    assert set(answered) == set(modeled)
    for code, status in answered.items():
        assert status == modeled[code] == client_errors.error_class_for(code).HTTP_STATUS


def test_codes_outside_the_model_are_the_aws_front_ends_and_never_5xx() -> None:
    modeled = {s.name for s in SERVICE_MODEL.error_shapes}
    others = [cls for cls in _service_error_classes() if cls.code not in modeled]
    assert others  # signature, size and media-type answers of the AWS front end
    assert all(400 <= cls.status < 500 for cls in others)
