"""The error every processing step raises: a stable ``code`` for clients, a ``message`` for people."""

from __future__ import annotations


class ProcessingError(Exception):
    """A job cannot be processed; ``code`` is stable for clients, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
