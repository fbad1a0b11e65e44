"""Serving the exported SavedModel: TF Serving deployment files, a local server speaking TF Serving's
REST and gRPC protocols (`python -m serving.server`), and a client (`python -m serving.client`)."""
