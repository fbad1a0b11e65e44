import json
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, repo_env

SCRIPT = """
import json, math, keras, tensorflow as tf
keras.mixed_precision.set_global_policy("mixed_float16")
from tests.models.helpers import tiny_model, dual_batch
model = tiny_model(aux_tasks=("random", "rotation", "reweighted", "random_shared"), weight_decay=1e-4)
history = model.fit(tf.data.Dataset.from_tensors(dual_batch()).repeat(3), epochs=1, verbose=0, shuffle=False).history
print(json.dumps({"optimizer": type(model.optimizer).__name__, "logits": str(model(dual_batch()[0][0]).dtype.name),
                  "finite": all(math.isfinite(v[-1]) for v in history.values()), "losses": sorted(history)}))
"""


@pytest.mark.large
def test_mixed_float16_trains_every_task_with_loss_scaling():
    env = repo_env()
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["optimizer"] == "LossScaleOptimizer" and result["logits"] == "float16" and result["finite"]
    assert {"rotation_loss", "random_shared_loss", "reweighted_loss"} <= set(result["losses"])
