"""The one exception export raises for bad input or a failed check."""


class ExportError(Exception):
    """Export cannot go on: bad model dir, flags that contradict the checkpoint, unwritable output, failed parity."""
