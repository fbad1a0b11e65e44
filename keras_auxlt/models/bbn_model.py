"""`BBNModel`: BBN (Zhou et al., CVPR 2020) in the trainer, as megvii-research/BBN trains it on CIFAR.

A shared trunk (a CIFAR ResNet without its last basic block) feeds two branches, each a copy of that
block and global average pooling. A step takes `((x_rb, y_rb), (x_cb, y_cb))`: the re-balancing batch
(the class-aware stream; BBN's recipe samples it `reversed`, a class with probability 1 / n_c) and the
conventional batch (instance sampling). Each batch runs through the trunk on its own (its own
BatchNorm batch, as the reference's two forward passes) and then through its branch; with the
cumulative-learning weight

    alpha = 1 - (epoch / epochs)^2   (epoch counted from 0, constant within an epoch)

one linear classifier reads the 128-d feature 2 * [alpha f_cb, (1 - alpha) f_rb], and the loss is
alpha CE(logits, y_cb) + (1 - alpha) CE(logits, y_rb) (the step's accuracy, primary_acc, is weighted
alike). At test alpha = 0.5: the classifier reads [f_cb, f_rb] of one image, which is what `call()`,
evaluation and export compute (the `backbone` here is trunk + both branches, concatenated).
"""

import keras
import tensorflow as tf

from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.models.backbones import BBN_BRANCHES, bbn_cifar_resnet


@keras.saving.register_keras_serializable(package="keras_auxlt")
class BBNModel(AuxLTModel):
    def __init__(self, steps_per_epoch=1, **kwargs):
        if kwargs.get("aux_tasks"):
            raise ValueError(f"BBN trains no auxiliary task. Received: aux_tasks={list(kwargs['aux_tasks'])!r}")
        if kwargs.get("mixup_alpha"):
            raise ValueError(f"BBN does not mix its inputs. Received: mixup_alpha={kwargs['mixup_alpha']!r}")
        if kwargs.get("total_steps", 0) < 1 or steps_per_epoch < 1:
            raise ValueError(f"BBN's alpha needs total_steps and steps_per_epoch >= 1. Received: total_steps="
                             f"{kwargs.get('total_steps', 0)!r}, steps_per_epoch={steps_per_epoch!r}")
        super().__init__(**{**kwargs, "aux_tasks": ()})
        self.steps_per_epoch = int(steps_per_epoch)

    @staticmethod
    def _build_backbone(name, image_size, sync_batch_norm, strided_padding):
        trunk, branches = bbn_cifar_resnet(name, (image_size, image_size, 3), sync_bn=sync_batch_norm,
                                           strided_padding=strided_padding)
        images = keras.Input((image_size, image_size, 3), name="image")
        maps = trunk(images)
        features = keras.layers.Concatenate(name="branch_features")([branches[b](maps) for b in BBN_BRANCHES])
        return keras.Model(images, features, name=f"bbn_{name}")

    # The trunk and branches are layers of `backbone`, found there rather than tracked twice.
    @property
    def trunk(self):
        return self.backbone.get_layer(f"{self.backbone_name}_trunk")

    @property
    def branches(self):
        return {b: self.backbone.get_layer(f"{self.backbone_name}_{b}") for b in BBN_BRANCHES}

    def alpha(self):
        """The cumulative-learning weight of the conventional branch at the current step."""
        epochs = self.total_steps / self.steps_per_epoch
        epoch = tf.cast(self._step() // self.steps_per_epoch, keras.config.floatx())
        return 1.0 - tf.square(epoch / epochs)

    def compute_task_losses(self, data, training=True):
        if not (isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (tuple, list))):
            raise ValueError("BBN trains on two streams: ((x_rebalancing, y), (x_conventional, y)) batches")
        (x_rb, y_rb), (x_cb, y_cb) = data
        f_cb = self.branches["conventional"](self.trunk(self.normalize(x_cb), training=training), training=training)
        f_rb = self.branches["rebalancing"](self.trunk(self.normalize(x_rb), training=training), training=training)
        alpha = tf.cast(self.alpha(), f_cb.dtype)
        logits = self.primary_head(2.0 * tf.concat([alpha * f_cb, (1.0 - alpha) * f_rb], axis=-1))
        loss_cb, loss_rb = self._ce(y_cb, logits), self._ce(y_rb, logits)
        alpha = tf.cast(alpha, loss_cb.dtype)
        return {"primary": alpha * loss_cb + (1.0 - alpha) * loss_rb}, {"primary": self._accuracy_inputs(
            y_cb, y_rb, logits, alpha)}

    @staticmethod
    def _accuracy_inputs(y_cb, y_rb, logits, alpha):
        """(labels, logits, sample weights) whose weighted accuracy is alpha acc(y_cb) + (1 - alpha) acc(y_rb), as
        the reference reports a step's accuracy: the mixed logits read two images, so neither label alone says
        how right they are (against y_cb alone it falls toward 0 as alpha decays)."""
        weights = tf.concat([tf.fill(tf.shape(y_cb), alpha), tf.fill(tf.shape(y_rb), 1.0 - alpha)], axis=0)
        return tf.concat([y_cb, y_rb], axis=0), tf.concat([logits, logits], axis=0), weights

    def get_config(self):
        return {**super().get_config(), "steps_per_epoch": self.steps_per_epoch}
