"""One-off checks behind dated notes in docs/experiments/: each answers one question about code or data once
(a decoder's shift, a code fix's effect), prints its figures, and is cited by the note that keeps them. Not part
of the results page or of the library; run with `./run python -m experiments.<check>`."""
