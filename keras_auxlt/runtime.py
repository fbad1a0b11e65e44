"""Process set-up shared by the command-line entry points (train, evaluate, export, serve)."""

import os
import sys
import tempfile

# Device nodes a GPU driver creates (NVIDIA on Linux; WSL2's GPU paravirtualisation).
GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")
# What TensorFlow's CUDA probe logs, as an error, on a machine with CUDA libraries but no GPU.
CUDA_PROBE_NOISE = "failed call to cuInit"


def has_gpu_device_node():
    return any(os.path.exists(path) for path in GPU_DEVICE_NODES)


def initialize_devices():
    """TensorFlow's physical devices, found once at start.

    On a Linux machine with no GPU device node, TensorFlow still probes CUDA and logs "failed call to
    cuInit: ... CUDA error" as an error, which says nothing is wrong but reads as if something were.
    There, the probe's output is captured and replayed without that one line. The probe may run when
    TensorFlow is imported (under absl's app.run it does) or when the devices are first listed: call this
    before anything imports TensorFlow, so that both happen inside the capture.

    It also turns on TensorFlow's oneDNN kernels unless TF_ENABLE_ONEDNN_OPTS says otherwise: TensorFlow turns them
    on by itself only on some Intel CPUs, and without them an AuxLT step on an AVX2-only AMD CPU took 2.3x as long
    (docs/performance.md)."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    if has_gpu_device_node() or not sys.platform.startswith("linux"):
        import tensorflow as tf

        return tf.config.list_physical_devices()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            devices = tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                if CUDA_PROBE_NOISE not in line]
    sys.stderr.write("".join(kept))
    sys.stderr.flush()
    return devices
