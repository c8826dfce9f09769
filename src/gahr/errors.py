"""Errors for bad input: each message says what went wrong and what to do about it.

The CLI prints a `GahrError` as one line and exits with status 2.
"""


class GahrError(Exception):
    """Base class of every error caused by bad input, not by a bug."""


class ConfigError(GahrError, ValueError):
    """A configuration that cannot work (unknown key, impossible value)."""


class ShapeError(GahrError, ValueError):
    """A tensor or image of the wrong shape or size."""


class CheckpointError(GahrError):
    """A weights file that cannot be read or does not match the requested architecture."""


class DataError(GahrError):
    """A data set or file that cannot be read or used as asked."""


class ArchitectureError(ConfigError):
    """An unknown architecture name or an impossible architecture setting."""


class SamplingError(GahrError):
    """A sampler or inverse problem that cannot run as asked."""


class OutputError(GahrError):
    """An output path that cannot be written as asked (a file where a directory is needed, a
    directory that holds something else)."""


class BusyError(OutputError):
    """An output directory that another running process is writing (see `gahr.locking`)."""


class DiskFullError(OutputError):
    """A write that failed for lack of space (ENOSPC, EDQUOT); nothing half-written was kept."""


class Interrupted(KeyboardInterrupt):
    """A stop on request (Ctrl-C, SIGTERM) after finished work was saved; the message says
    where it was saved and how to resume."""
