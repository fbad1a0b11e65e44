"""train.py's flags resolved in a child process, many argument lists at once.

absl keeps one set of flags per process and the suite defines other commands' flags too, so the resolving
happens in a subprocess: for each argument list it does what train.py does before any work (parse the flags,
build the RunConfig, check it) and reports the result. One subprocess for every list of a test.
"""

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT, repo_env

_SCRIPT = """
import json, sys, warnings
from absl import flags
from keras_auxlt import flags as auxlt_flags
from keras_auxlt.commands import stage_one
auxlt_flags.define_train_flags()
out = {}
for name, argv in json.loads(sys.argv[1]).items():
    flags.FLAGS.unparse_flags()
    result = {"config": None, "mixed_streams": None, "stage_one": None, "error": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            flags.FLAGS(["train.py", *argv])
            config = auxlt_flags.run_config_from_flags().check()
            first = stage_one.command(config, flags.FLAGS)[1:] if config.stage_one_flagfile else None
            result.update(config=config.to_dict(), mixed_streams=list(config.mixed_streams), stage_one=first)
        except (flags.Error, ValueError) as e:
            result["error"] = str(e)
    result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
    result["tensorflow_loaded"] = "tensorflow" in sys.modules
    out[name] = result
print(json.dumps(out))
"""


def resolve(argvs):
    """{name: the arguments after `train.py`} -> {name: what train.py makes of them}, each a dict with
    - `config`: RunConfig.to_dict() of the checked config, or None if parsing or the check failed;
    - `mixed_streams`: the streams the config mixes (a derived value), or None;
    - `stage_one`: with --stage_one_flagfile, the first stage's command after the interpreter, else None;
    - `error`: the message that refused the arguments (a flag error or a ConfigError), else None;
    - `warnings`: "Category: message" of each warning raised;
    - `tensorflow_loaded`: whether TensorFlow had been imported by then (it must not be, to fail fast).
    """
    done = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(argvs)], cwd=REPO_ROOT, env=repo_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
