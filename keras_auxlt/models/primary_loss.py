"""`PrimaryLoss`: the primary head's training loss, method.md's CE or a baseline's variant of it.

- `ce`: cross-entropy; with `label_smoothing` (head, tail), MiSLAS's label-aware smoothing: CE against
  (1 - eps_y) one_hot(y) + eps_y / C (dvlab-research/MiSLAS methods.py).
- `class_balanced`: CE weighted by effective-number class weights (Cui et al. 2019), over the batch size.
- `drw`: plain CE, then those weights from `drw_start_step` on; the weighted mean is taken over the batch's
  sum of weights as kaidic/LDAM-DRW's CrossEntropyLoss(weight=...) does (`drw_normalisation`;
  "batch_size": over the batch size, as code of before 2026-12-06 trained, which its checkpoints keep).
- `logit_adjust`: CE of logits + tau * log(class prior) (Menon et al. 2021; balanced softmax at tau = 1);
  inference uses the raw logits.
- `ldam_drw`: LDAM (Cao et al. 2019; the true class's logit, s * cos, lowered by s * m_y) with DRW's
  weights from `drw_start_step` on, over the batch's sum of weights as the reference does.

Each is a Keras `Loss` value: a mean over the per-replica batch, already divided by the number of replicas.
The arguments are checked by `AuxLTModel`, which builds this from its own.
"""

import keras
import tensorflow as tf

from keras_auxlt.models import class_priors


class PrimaryLoss:
    def __init__(self, kind="ce", num_classes=10, class_counts=None, drw_start_step=0, logit_adjust_tau=1.0,
                 label_smoothing=(0.0, 0.0), drw_normalisation="sum_of_weights"):
        self.kind = kind
        self.num_classes = int(num_classes)
        self.drw_start_step = int(drw_start_step)
        self.logit_adjust_tau = float(logit_adjust_tau)
        self.drw_normalisation = drw_normalisation
        floatx = keras.config.floatx()  # the losses' dtype (float32 under mixed precision too)
        weighted = kind in ("class_balanced", "drw", "ldam_drw")
        self._class_weights = (tf.constant(class_priors.effective_number_weights(class_counts), floatx)
                               if weighted else None)
        self._log_prior = tf.constant(class_priors.log_prior(class_counts), floatx) if kind == "logit_adjust" else None
        # LDAM: s * m_c, subtracted from the true class's logit (the cosine head's logits are s * cos).
        self._ldam_offsets = (tf.constant(class_priors.LDAM_SCALE * class_priors.ldam_margins(class_counts), floatx)
                              if kind == "ldam_drw" else None)
        self._smoothing = (tf.constant(class_priors.label_aware_smoothing(class_counts, *label_smoothing), floatx)
                           if any(label_smoothing) else None)
        self._ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # Class-weighted CE as PyTorch's CrossEntropyLoss(weight=w): divided by the batch's sum of weights.
        self._weighted_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True,
                                                                       reduction="mean_with_sample_weight")
        self._soft_ce = keras.losses.CategoricalCrossentropy(from_logits=True)

    def __call__(self, labels, logits, step):
        """The loss of a batch's `logits` [N, C] against integer `labels` [N] at optimizer step `step`."""
        if self.kind == "ce":
            if self._smoothing is None:
                return self._ce(labels, logits)
            eps = tf.gather(self._smoothing, labels)[:, None]
            one_hot = tf.one_hot(labels, self.num_classes, dtype=eps.dtype)
            return self._soft_ce((1.0 - eps) * one_hot + eps / self.num_classes, logits)
        if self.kind == "logit_adjust":
            adjusted = tf.cast(logits, keras.config.floatx()) + self.logit_adjust_tau * self._log_prior
            return self._ce(labels, adjusted)
        weights = tf.gather(self._class_weights, labels)
        if self.kind == "class_balanced":
            return self._ce(labels, logits, sample_weight=weights)
        weights = tf.where(step >= self.drw_start_step, weights, tf.ones_like(weights))  # deferred re-weighting
        if self.kind == "ldam_drw":
            one_hot = tf.one_hot(labels, self.num_classes, dtype=self._ldam_offsets.dtype)
            adjusted = tf.cast(logits, self._ldam_offsets.dtype) - one_hot * self._ldam_offsets
            return self._weighted_ce(labels, adjusted, sample_weight=weights)
        if self.drw_normalisation == "sum_of_weights":
            return self._weighted_ce(labels, logits, sample_weight=weights)
        return self._ce(labels, logits, sample_weight=weights)
