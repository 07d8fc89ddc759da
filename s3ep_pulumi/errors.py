"""The package's exceptions: small on purpose."""


class S3epError(Exception):
    """Base of every error s3ep raises on purpose; its message is meant for a person."""


class ConfigError(S3epError):
    """The configuration is invalid; the message lists every problem and how to fix it."""


class MissingExtraError(S3epError):
    """A command needs an optional dependency that is not installed; the message names the extra
    that installs it."""
