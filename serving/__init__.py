"""Serving the exported SavedModel (docs/serving.md): `tf_serving/` holds TF Serving's deployment files;
`python -m serving.server` and `python -m serving.client` run the local server and the client of the
package keras_auxlt.serving (`auxlt-serve` and `auxlt-client` once installed)."""
