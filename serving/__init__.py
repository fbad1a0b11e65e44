"""Serving the exported SavedModel (docs/serving.md): `tf_serving/` holds TF Serving's deployment files;
`python -m serving.server` and `python -m serving.client` run the local server and the client
(keras_auxlt/commands/serve.py and client.py; `auxlt-serve` and `auxlt-client` once installed)."""
