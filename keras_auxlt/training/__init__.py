"""Training machinery: configuration, schedules, strategies, callbacks and the run loop."""
