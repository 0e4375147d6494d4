"""Errors a stage raises for one bad input; the flow records them and goes on with the other inputs."""


class InputError(Exception):
    """An input that cannot be processed (corrupt, encrypted, empty, not a PDF). The message is one line."""
