"""The small error hierarchy of askoleus; the API maps each class to one JSON error shape."""

from __future__ import annotations


class AskoleusError(Exception):
    """Base class: a clear, user-facing message and a stable machine code."""

    code = "error"
    http_status = 500
    retry_after: int | None = None  # seconds, sent as Retry-After when set

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(AskoleusError):
    """A setting is missing or unsafe (e.g. a placeholder key in production)."""

    code = "config_error"


class IngestError(AskoleusError):
    """An article file cannot be read or parsed; names the file and, where it applies, the line."""

    code = "ingest_error"
    http_status = 422

    def __init__(self, file: str, reason: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.reason = reason
        self.line = line


class IndexStoreError(AskoleusError):
    """Base for problems with the stored index generations."""

    code = "index_error"
    http_status = 503


class IndexNotFound(IndexStoreError):
    """No index generation is current: run `askoleus build`."""

    code = "index_not_found"


class IndexCorrupt(IndexStoreError):
    """A generation failed verification (checksum, model, dimension or counts)."""

    code = "index_corrupt"


class BuildLocked(IndexStoreError):
    """Another build holds the index lock."""

    code = "build_locked"
    http_status = 409


class BuildError(AskoleusError):
    """A build could not complete; the previous generation stays current."""

    code = "build_error"


class NotFound(AskoleusError):
    """The page, article or answer asked for does not exist."""

    code = "not_found"
    http_status = 404


class InvalidRequest(AskoleusError):
    """The request is malformed; the message never echoes the input."""

    code = "invalid_request"
    http_status = 422


class Unauthorized(AskoleusError):
    """A staff or admin key is missing or wrong."""

    code = "unauthorized"
    http_status = 401


class PayloadTooLarge(AskoleusError):
    """The request body is over ASKOLEUS_MAX_BODY_BYTES."""

    code = "payload_too_large"
    http_status = 413


class RateLimited(AskoleusError):
    """The client asked too often; retry after the given seconds."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; retry in {retry_after} s")
        self.retry_after = retry_after


class Overloaded(AskoleusError):
    """More API requests are in flight than ASKOLEUS_MAX_IN_FLIGHT allows."""

    code = "overloaded"
    http_status = 503
    retry_after = 1


class TimedOut(AskoleusError):
    """The answer took longer than the per-request timeout."""

    code = "timeout"
    http_status = 504
