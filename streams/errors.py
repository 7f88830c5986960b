"""The one root exception of the shell, and the decode error that becomes a dead letter."""

from __future__ import annotations


class AmlStreamError(Exception):
    """Base of every error raised by `streams`."""


class ConfigError(AmlStreamError):
    """A setting or the model config is wrong; the worker refuses to start. One problem per line."""

    def __init__(self, *lines: str) -> None:
        self.lines: tuple[str, ...] = lines
        super().__init__("\n".join(lines))


class DecodeError(AmlStreamError):
    """An input message is not a valid event: it goes to the dead-letter topic."""

    def __init__(self, code: str, detail: str, customer_id: str | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.customer_id = customer_id


class StateLayoutError(ConfigError):
    """Redis holds amlstream state written in another layout; the worker refuses to touch it."""


class InputFileError(AmlStreamError):
    """A file named on the command line is not what it must be (a messages file line that is no
    Kafka record): the operator's to fix. The CLI prints it as one line naming the file's line
    and exits 2."""


class RuntimeFailure(AmlStreamError):
    """A command could not do its work for a reason outside its input and settings (Redis or Kafka
    unreachable, a service that did not start): the CLI prints one line and exits 1."""
