"""The one exception type stages turn into a one-line error and a non-zero exit."""


class PipelineError(Exception):
    """Bad input or configuration, described in one line for the user."""
