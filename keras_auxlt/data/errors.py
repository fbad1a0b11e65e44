"""The one exception type for bad data, so callers can catch data problems apart from bugs."""


class DataError(ValueError):
    """Raised for bad input data: missing files, malformed list lines, bad labels, empty splits."""
