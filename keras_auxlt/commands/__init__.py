"""Every command-line program, one module each, all started by launch.launch: train, evaluate, stats, export,
serve and client. The top-level train.py, evaluate.py, export/ and serving/ and the installed auxlt-* commands
run these."""
