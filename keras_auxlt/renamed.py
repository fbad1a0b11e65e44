"""Names of earlier versions, still accepted with a warning (no TensorFlow here).

Until 2026-12-06 the random stream was also called "instance" (--inference_statistics=instance), and
--mixup_streams named streams by the head that learns from them: "primary" (the batch the primary head
learns from: the balanced stream of a two-stream method, the one stream of any other) and "auxiliary"
(the random stream of a two-stream method; a single-stream method has none, so it was never mixed).
Now every flag, config and checkpoint names the streams `balanced` and `random` (choices.STREAMS).

These functions turn old values into new ones. They serve the flags, a rerun that compares its settings
with a config.json written before the change, and loading a checkpoint saved before it.
"""

import warnings

from keras_auxlt.choices import STREAMS

OLD_STATISTICS_SOURCES = {"instance": "random"}
OLD_MIXUP_STREAMS = ("primary", "auxiliary")


class RenamedValueWarning(FutureWarning):
    """A flag or config value under a name of an earlier version (FutureWarning: shown to users)."""


def statistics_source(value, warn=True, flag="inference_statistics"):
    """--inference_statistics (or a recorded source) under its current name."""
    new = OLD_STATISTICS_SOURCES.get(value)
    if new is None:
        return value
    if warn:
        _warn(flag, value, new)
    return new


def mixup_streams(values, streams, warn=True, flag="mixup_streams"):
    """--mixup_streams as stream names, for a method that draws `streams` (choices.METHODS[...]["streams"]).

    Old values mean what they meant: "primary" is the stream the primary head learns from (streams[0]);
    "auxiliary" is the random stream of a two-stream method, and for a single-stream method the stream it
    does not draw (so, as before, nothing is mixed). Values already current are returned as they are."""
    values = tuple(values)
    if not any(v in OLD_MIXUP_STREAMS for v in values):
        return values
    new = []
    for value in values:
        if value == "primary":
            value = streams[0]
        elif value == "auxiliary":
            value = "random" if len(streams) == 2 else next(s for s in STREAMS if s not in streams)
        if value not in new:
            new.append(value)
    if warn:
        _warn(flag, ",".join(values), ",".join(new))
    return tuple(new)


def _warn(flag, old, new):
    warnings.warn(f"--{flag}={old} is a name of an earlier version; it now reads --{flag}={new} (the streams are "
                  f"called {' and '.join(STREAMS)}). The old name still works but will be removed.",
                  RenamedValueWarning, stacklevel=3)
