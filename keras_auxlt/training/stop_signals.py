"""Stop training cleanly on Ctrl-C or SIGTERM: finish the step under way, checkpoint it, exit.

While `stop_on_signals(checkpoint)` is active, SIGINT and SIGTERM only ask the TrainingCheckpoint
callback to stop: at the end of the current step it saves last.keras (mid-epoch included), and
raises TrainingInterrupted. Rerunning the same command resumes at that exact step, so nothing
trained is lost. A second signal while the first is being handled stops at once (KeyboardInterrupt),
losing only the steps since the last checkpoint.
"""

import contextlib
import signal
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
