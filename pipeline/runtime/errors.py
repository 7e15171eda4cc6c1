"""Error taxonomy the runtime acts on."""

from __future__ import annotations


class TransientError(Exception):
    """Retry with bounded backoff (a dependency is briefly unavailable). After the last retry: DLQ."""


class PermanentError(Exception):
    """The input can never be handled as is: straight to the DLQ with this message as the reason.

    Messages must be one readable line and never contain document content.
    """


class DecodeError(PermanentError):
    """The message is not a valid envelope for the stage's input topic."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # undecodable | schema_invalid | unknown_major_version
