"""The one root exception of the core."""


class FactorsError(Exception):
    """Base of every error raised by the pure core."""


class StandardError(FactorsError):
    """The scoring standard (model config) is invalid; the message names the offending entry."""
