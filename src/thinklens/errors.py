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


class RunLocked(ThinklensError):
    """Another process is writing to this run folder."""


class StoreError(ThinklensError):
    """The run store cannot be opened or written (corrupt file, read-only folder, full disk)."""
