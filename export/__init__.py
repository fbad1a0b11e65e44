"""`python -m export`: export a trained run's primary head for deployment (docs/export.md).

The code is the package keras_auxlt.export; this folder only keeps the command at the top of the
repository (`auxlt-export` once installed).
"""
