"""Backbones by name: every layer up to and including global average pooling.

- `resnet20/32/44/56/110`: the CIFAR ResNets (3 stages x n basic blocks, 16/32/64 channels,
  parameter-free zero-padding shortcuts), as in the reference code; ResNet-32 has a 64-d feature.
- `resnet20_s2` ... `resnet110_s2`: the same with a stride-2 stem convolution, so that a 64x64 image
  (Tiny-ImageNet-LT) meets the stages at 32x32, as a CIFAR image does, at about a CIFAR image's cost.
- `resnet10`: torchvision-style basic-block ResNet with one block per stage (ImageNet-LT).
- `resnet50`: `keras.applications.ResNet50(weights=None)` without its top.

Every BatchNorm is `FusedBatchNormalization` (Keras's layer, TensorFlow's fused kernel in training).
"""

import keras

from keras_auxlt import choices
from keras_auxlt.models.layers import FusedBatchNormalization, ZeroPadShortcut, batch_norm, conv_init, replace_batch_norm

_BLOCKS = {"resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
STRIDE_2_STEM = "_s2"  # the suffix of a CIFAR ResNet whose stem convolution has stride 2
# Every CIFAR ResNet by name: (basic blocks per stage, stem stride).
CIFAR_DEPTHS = {**{name: (blocks, 1) for name, blocks in _BLOCKS.items()},
                **{name + STRIDE_2_STEM: (blocks, 2) for name, blocks in _BLOCKS.items()}}
assert tuple(CIFAR_DEPTHS) == choices.CIFAR_BACKBONES, "keras_auxlt.choices.CIFAR_BACKBONES names every CIFAR ResNet"


# How convolutions and pools that stride pad. "symmetric", the default: as PyTorch pads them, (kernel - 1) // 2
# on every side. "same": TensorFlow's, which pads an even-sized input at the bottom and right only and so centres
# a stride-2 3x3 window on odd input rows and columns, one pixel off the zero-padding shortcut's even ones (and
# the reference code's). Models saved before 2026-12-02 were built "same" and carry no record of it: loading one
# rebuilds it so (LEGACY_STRIDED_PADDING, AuxLTModel.from_config), since its weights were trained that way.
STRIDED_PADDINGS = ("symmetric", "same")
STRIDED_PADDING = "symmetric"
LEGACY_STRIDED_PADDING = "same"


def _conv(x, filters, kernel, stride, name, strided_padding=STRIDED_PADDING):
    """A bias-free convolution; with a stride, padded as `strided_padding` says."""
    padding = "same"
    if stride > 1 and strided_padding == "symmetric":
        if kernel > 1:
            x = keras.layers.ZeroPadding2D((kernel - 1) // 2, name=f"{name}_pad")(x)
        padding = "valid"
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=False,
                               kernel_initializer=conv_init(), name=name)(x)


def _basic_block(x, filters, stride, name, shortcut, sync_bn, strided_padding):
    """Two 3x3 conv-BN pairs; shortcut "zero_pad" (CIFAR) or "projection" (ImageNet)."""
    residual = _conv(x, filters, 3, stride, f"{name}_conv1", strided_padding)
    residual = keras.layers.ReLU(name=f"{name}_relu1")(batch_norm(f"{name}_bn1", sync_bn)(residual))
    residual = batch_norm(f"{name}_bn2", sync_bn)(_conv(residual, filters, 3, 1, f"{name}_conv2"))
    in_channels = x.shape[-1]
    if stride != 1 or in_channels != filters:
        if shortcut == "zero_pad":
            x = ZeroPadShortcut(stride, filters - in_channels, name=f"{name}_shortcut")(x)
        else:
            x = batch_norm(f"{name}_shortcut_bn", sync_bn)(_conv(x, filters, 1, stride, f"{name}_shortcut_conv",
                                                                  strided_padding))
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([x, residual]))


def _cifar_blocks(x, blocks_per_stage, sync_bn, strided_padding, last_block=True, stem_stride=1):
    """The stem and the three stages of a CIFAR ResNet on `x`; without the very last basic block if not
    `last_block` (BBN's trunk)."""
    x = _conv(x, 16, 3, stem_stride, "stem_conv", strided_padding)
    x = keras.layers.ReLU(name="stem_relu")(batch_norm("stem_bn", sync_bn)(x))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(blocks_per_stage if stage < 2 or last_block else blocks_per_stage - 1):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"stage{stage + 1}_block{block + 1}", "zero_pad", sync_bn,
                             strided_padding)
    return x


def cifar_resnet(blocks_per_stage, input_shape, name, sync_bn=False, strided_padding=STRIDED_PADDING, stem_stride=1):
    inputs = keras.Input(input_shape, name="image")
    x = _cifar_blocks(inputs, blocks_per_stage, sync_bn, strided_padding, stem_stride=stem_stride)
    features = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, features, name=name)


BBN_BRANCHES = ("conventional", "rebalancing")


def bbn_cifar_resnet(name, input_shape, sync_bn=False, strided_padding=STRIDED_PADDING):
    """A CIFAR ResNet split as BBN splits it (megvii-research/BBN, `BBN_ResNet_Cifar`): a trunk of every layer
    but the last basic block, and one copy of that block per branch (BBN_BRANCHES), each followed by global
    average pooling. Returns (trunk: image -> feature map, {branch: feature map -> 64-d feature})."""
    if name not in CIFAR_DEPTHS:
        raise ValueError(f"BBN splits the CIFAR ResNets only. Accepted: {', '.join(CIFAR_DEPTHS)}. "
                         f"Received: backbone={name!r}")
    blocks, stem_stride = CIFAR_DEPTHS[name]
    inputs = keras.Input(input_shape, name="image")
    trunk = keras.Model(inputs, _cifar_blocks(inputs, blocks, sync_bn, strided_padding, last_block=False,
                                              stem_stride=stem_stride), name=f"{name}_trunk")
    branches = {}
    for branch in BBN_BRANCHES:
        maps = keras.Input(trunk.output_shape[1:], name=f"{branch}_maps")
        x = _basic_block(maps, 64, 1, f"{branch}_block", "zero_pad", sync_bn, strided_padding)
        branches[branch] = keras.Model(maps, keras.layers.GlobalAveragePooling2D(name=f"{branch}_pool")(x),
                                       name=f"{name}_{branch}")
    return trunk, branches


def resnet10(input_shape, name="resnet10", sync_bn=False, strided_padding=STRIDED_PADDING):
    inputs = keras.Input(input_shape, name="image")
    x = _conv(inputs, 64, 7, 2, "stem_conv", strided_padding)
    x = keras.layers.ReLU(name="stem_relu")(batch_norm("stem_bn", sync_bn)(x))
    if strided_padding == "symmetric":
        x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)  # after a ReLU, zeros pad a max pool as -inf does
    x = keras.layers.MaxPooling2D(3, strides=2, padding="valid" if strided_padding == "symmetric" else "same",
                                  name="stem_pool")(x)
    for stage, filters in enumerate((64, 128, 256, 512)):
        x = _basic_block(x, filters, 1 if stage == 0 else 2, f"stage{stage + 1}_block1", "projection", sync_bn,
                         strided_padding)
    features = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, features, name=name)


def resnet50(input_shape, name="resnet50", sync_bn=False, strided_padding=STRIDED_PADDING):
    del strided_padding  # keras.applications pads its strided layers itself
    if sync_bn:
        raise ValueError("sync_batch_norm is not available for resnet50 (keras.applications); use resnet10")
    model = keras.applications.ResNet50(weights=None, include_top=False, pooling="avg", input_shape=input_shape,
                                        name=name)
    return replace_batch_norm(model, FusedBatchNormalization)  # keras.applications' own BatchNorm constants


def _cifar(name):
    blocks, stem_stride = CIFAR_DEPTHS[name]
    return lambda input_shape, **options: cifar_resnet(blocks, input_shape, name, stem_stride=stem_stride, **options)


BACKBONES = {**{name: _cifar(name) for name in CIFAR_DEPTHS}, "resnet10": resnet10, "resnet50": resnet50}
assert tuple(BACKBONES) == choices.BACKBONES, "keras_auxlt.choices.BACKBONES names every builder here"


def build_backbone(name, input_shape, sync_bn=False, strided_padding=STRIDED_PADDING):
    """The backbone `name` for square inputs of `input_shape`; `sync_bn` = cross-replica BatchNorm;
    `strided_padding`: one of STRIDED_PADDINGS."""
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone. Accepted: {', '.join(BACKBONES)}. Received: backbone={name!r}")
    if strided_padding not in STRIDED_PADDINGS:
        raise ValueError(f"Unknown strided_padding. Accepted: {', '.join(STRIDED_PADDINGS)}. "
                         f"Received: strided_padding={strided_padding!r}")
    return BACKBONES[name](tuple(input_shape), sync_bn=sync_bn, strided_padding=strided_padding)
