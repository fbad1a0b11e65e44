"""Stop training cleanly on Ctrl-C or SIGTERM: finish the step under way, checkpoint it, exit.

While `stop_on_signals(checkpoint)` is active, SIGINT and SIGTERM only ask the TrainingCheckpoint
callback to stop: at the end of the current step it saves last.keras (mid-epoch included), and
raises TrainingInterrupted. Rerunning the same command resumes at that exact step, so nothing
trained is lost. A second signal while the first is being handled stops at once (KeyboardInterrupt),
losing only the steps since the last checkpoint.
"""

import contextlib
import signal
import subprocess
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(RuntimeError):
    """Training was stopped by a signal after checkpointing the step reached."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum

    @property
    def exit_status(self):
        return 128 + self.signum  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM


@contextlib.contextmanager
def stop_on_signals(checkpoint):
    """Route SIGINT/SIGTERM to `checkpoint.request_stop(signum)` inside the block; handlers restored after.

    Python delivers signals to the main thread only: from another thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum, frame):
        if checkpoint.stop_requested:
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} again: stopping without a checkpoint")
        checkpoint.request_stop(signum)
        print(f"[train] {signal.Signals(signum).name}: stopping after this step, with a checkpoint "
              "(signal again to stop at once)", flush=True)

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_forwarding_signals(command, heartbeat=None, every=30.0, env=None):
    """Run `command` (argv; in environment `env`, default this one's) and return its exit status, calling
    heartbeat() every `every` seconds meanwhile.

    SIGINT and SIGTERM sent to this process are passed on to the command (a train.py then checkpoints the
    step it reached and stops), so stopping the parent never leaves a training run behind. The command runs
    in a session of its own: a Ctrl-C reaches it once, through here."""
    process = subprocess.Popen(command, start_new_session=True, env=env)
    previous = {signum: signal.signal(signum, lambda signum, frame: process.send_signal(signum))
                for signum in STOP_SIGNALS}
    try:
        while True:
            try:
                return process.wait(timeout=every)
            except subprocess.TimeoutExpired:
                if heartbeat is not None:
                    heartbeat()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if process.poll() is None:  # this process failed (not the command): do not leave it running
            process.terminate()
            process.wait()
