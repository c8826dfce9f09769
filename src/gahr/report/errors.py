"""The report's bad-input error."""

from ..errors import GahrError


class ReportError(GahrError, ValueError):
    """A figure input or report manifest that cannot be drawn or rendered as asked."""
