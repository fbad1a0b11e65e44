"""The command-line programs (train, evaluate); top-level train.py / evaluate.py and the installed auxlt-* commands run these."""
