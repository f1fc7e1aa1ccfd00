"""The one error a load raises when nothing could be committed."""


class LoadError(Exception):
    """A file or setting that cannot be used at all; the message says which and what to do."""
