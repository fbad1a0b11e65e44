"""Both heads at test time, folded into the primary head (`--inference_head=fused`).

The primary head learns from the class-balanced stream; the random auxiliary head learns from the
natural distribution, so its logits carry the training prior, which a post-hoc correction removes
(logit adjustment, Menon et al., ICLR 2021). The fused classifier is

    logits = alpha * g_p(f) + (1 - alpha) * (g_a(f) - tau * log(prior))

(g_a: the `random` head, else the `random_adjusted` one, whose training already removed the prior,
so tau = 0 should win there.)

Both heads are linear on the same features, so the mixture is one linear layer: kernel
alpha * W_p + (1 - alpha) * W_a, bias alpha * b_p + (1 - alpha) * (b_a - tau * log(prior)). It
replaces the primary head's weights, so evaluation and export stay as they are (one backbone, one
head). alpha and tau are chosen on the validation split from the grid below; alpha = 1 (the primary
head alone) wins ties.
"""

import itertools

import numpy as np

from keras_auxlt.choices import FUSABLE_HEADS
from keras_auxlt.evaluation import head_outputs
from keras_auxlt.models.class_priors import log_prior

ALPHAS = (1.0, 0.75, 0.5, 0.25, 0.0)
TAUS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


def fusable_head(model):
    """The auxiliary head to fuse with the primary one: the random task's, else the logit-adjusted one's."""
    return model.aux_heads[next(name for name in FUSABLE_HEADS if name in model.aux_heads)]


def fused_weights(primary, aux, prior, alpha, tau):
    """(kernel, bias) of the fused head from the two heads' (kernel, bias) and the log prior."""
    kernel = alpha * primary[0] + (1 - alpha) * aux[0]
    bias = alpha * primary[1] + (1 - alpha) * (aux[1] - tau * prior)
    return kernel.astype(primary[0].dtype), bias.astype(primary[1].dtype)


def head_logits(model, split, pipeline_config, progress=False):
    """Labels, primary logits and auxiliary logits over a split (float64 NumPy)."""
    heads = {"primary": model.primary_head, "auxiliary": fusable_head(model)}
    labels, logits = head_outputs(model, heads, split, pipeline_config, progress=progress, logits=True)
    return labels, logits["primary"], logits["auxiliary"]


def choose(labels, primary_logits, aux_logits, prior):
    """(alpha, tau, {"alpha/tau": top-1}) maximising top-1 on the given (validation) logits."""
    scores = {}
    best = None
    for alpha, tau in itertools.product(ALPHAS, TAUS):
        if alpha == 1.0 and tau != TAUS[0]:
            continue  # tau does not change the primary head alone
        logits = alpha * primary_logits + (1 - alpha) * (aux_logits - tau * prior)
        score = float(np.mean(np.argmax(logits, axis=-1) == labels))
        scores[f"{alpha:g}/{tau:g}"] = score
        if best is None or score > best[2]:
            best = (alpha, tau, score)
    return best[0], best[1], scores


def fuse_heads(model, val, class_counts, pipeline_config):
    """Choose alpha and tau on `val`, write the fused head into `model.primary_head` (in place); returns
    the record for metrics.json."""
    prior = log_prior(class_counts)
    alpha, tau, scores = choose(*head_logits(model, val, pipeline_config), prior)
    primary = [w.numpy() for w in (model.primary_head.kernel, model.primary_head.bias)]
    aux_head = fusable_head(model)
    aux = [w.numpy() for w in (aux_head.kernel, aux_head.bias)]
    kernel, bias = fused_weights(primary, aux, prior, alpha, tau)
    model.primary_head.kernel.assign(kernel)
    model.primary_head.bias.assign(bias)
    print(f"[train] --inference_head=fused: alpha {alpha:g}, tau {tau:g} (validation top-1 {scores[f'{alpha:g}/{tau:g}']:.4f}; "
          f"primary head alone {scores['1/0']:.4f})", flush=True)
    return {"alpha": alpha, "tau": tau, "validation": scores}
