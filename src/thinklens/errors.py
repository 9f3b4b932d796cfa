"""Errors a user can act on.  The CLI prints their message (no traceback) and exits 2."""


class ThinklensError(Exception):
    """Base class: the message says what is wrong and what to do."""


class ConfigError(ThinklensError):
    """Invalid configuration: raised before any work starts."""


class DatasetError(ThinklensError):
    """Unknown dataset, unreadable or malformed data file."""


class ServerUnreachable(ThinklensError):
    """The model server cannot be reached or does not speak the OpenAI API."""


class RequestFailed(ThinklensError):
    """One request failed after its retries (stored as an error, not a wrong answer)."""


class ServerRefused(ThinklensError):
    """The server refuses every request the same way (401/403/404...): stop, don't flood it."""

    def __init__(self, message: str, *, status: int, server_message: str):
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class RunLocked(ThinklensError):
    """Another process is writing to this run folder."""


class StoreError(ThinklensError):
    """The run store cannot be opened or written (corrupt file, read-only folder, full disk)."""
