"""Export a trained run's primary head for deployment.

    python -m export --model_dir runs/cifar10_lt --export_base exports --model_name cifar10_lt

writes TF Serving's layout exports/cifar10_lt/<version>/ (a SavedModel with `serving_default`
for image tensors and `serving_bytes` for encoded JPEG/PNG) and exports/cifar10_lt-<version>.onnx,
each checked against the in-memory model before it is published.
"""
