"""The model server (`python -m keras_auxlt.commands.serve`) as a child process on free loopback ports (tests,
benchmarks), stopped for sure."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

# The directory holding the keras_auxlt package (the repository, or site-packages when installed).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY = re.compile(r"\[serving\] ready: .* REST http://(?P<host>[\d.]+):(?P<rest>\d+)\s+gRPC [\d.]+:(?P<grpc>\d+)")


def server_env():
    """The server's environment: this one, with keras_auxlt importable and TensorFlow's C++ logs at warnings."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
            "PYTHONPATH": PACKAGE_PARENT + (os.pathsep + path if path else "")}


class ServerProcess:
    """Starts the server and waits for its "[serving] ready" line; `rest` and `grpc` are host:port."""

    def __init__(self, base_path, model_name, *flags, startup_timeout=180):
        command = [sys.executable, "-m", "keras_auxlt.commands.serve", f"--model_base_path={base_path}",
                   f"--model_name={model_name}", "--rest_port=0", "--grpc_port=0", *flags]
        self.lines = []
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env=server_env())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            match = next(filter(None, map(READY.search, list(self.lines))), None)
            if match:
                self.rest = f"{match['host']}:{match['rest']}"
                self.grpc = f"{match['host']}:{match['grpc']}"
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start:\n" + "".join(self.lines[-40:]))

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self):
        return "".join(self.lines)

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL if it does not exit; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return self.process.returncode
