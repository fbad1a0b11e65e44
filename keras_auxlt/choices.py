"""Every choice list of keras-auxlt, declared once. No TensorFlow here: the flags, the configs' checks and
the code that dispatches on a name all read these."""

# The two training streams (method.md): the balanced stream (class-balanced, drawn by --balanced_sampler)
# and the random stream (instance sampling: every image equally likely). In AuxLT the primary head learns
# from the balanced stream and the auxiliary heads from the random one; a single-stream method draws one.
# Names of earlier versions are still accepted, with a warning: keras_auxlt.renamed.
STREAMS = ("balanced", "random")
# The sampler that draws each stream's indices (keras_auxlt.data.samplers): the balanced stream's is
# --balanced_sampler (one of BALANCED_SAMPLERS).
RANDOM_SAMPLER = "instance"

# Training methods: the stream(s) each draws from, whether auxiliary tasks train, and the primary
# head's loss (keras_auxlt.models.primary_loss). crt is classifier re-training, stage 2: the backbone of a
# trained run (--init_from) frozen, a fresh primary head trained with class-balanced sampling.
# ldam_drw (Cao et al. 2019): LDAM loss on a cosine classifier, deferred re-weighting. bbn (Zhou et al.
# 2020): a conventional branch on the random stream and a re-balancing one on the balanced stream
# (--balanced_sampler reversed in its recipe) over a shared trunk, mixed by the cumulative-learning alpha
# (keras_auxlt.models.bbn_model).
METHODS = {
    "auxlt": {"streams": ("balanced", "random"), "aux": True, "primary_loss": "ce"},
    "ce": {"streams": ("random",), "aux": False, "primary_loss": "ce"},
    "balanced": {"streams": ("balanced",), "aux": False, "primary_loss": "ce"},
    "cb_loss": {"streams": ("random",), "aux": False, "primary_loss": "class_balanced"},
    "drw": {"streams": ("random",), "aux": False, "primary_loss": "drw"},
    "logit_adjust": {"streams": ("random",), "aux": False, "primary_loss": "logit_adjust"},
    "ldam_drw": {"streams": ("random",), "aux": False, "primary_loss": "ldam_drw", "classifier": "cosine"},
    "crt": {"streams": ("balanced",), "aux": False, "primary_loss": "ce", "init_from": True},
    "bbn": {"streams": ("balanced", "random"), "aux": False, "primary_loss": "ce", "model": "bbn"},
}
PRIMARY_LOSSES = ("ce", "class_balanced", "drw", "logit_adjust", "ldam_drw")
# What drw's weighted loss is divided by: the batch's sum of weights, as kaidic/LDAM-DRW's
# CrossEntropyLoss(weight=...) does, or (code of before 2026-12-06, kept for its checkpoints) the batch size.
DRW_NORMALISATIONS = ("sum_of_weights", "batch_size")
LEGACY_DRW_NORMALISATION = "batch_size"
# The primary head: a linear layer, LDAM's cosine classifier (unit-norm features and class weights,
# logits scaled by LDAM's s = 30), or a linear layer with MiSLAS's learnable weight scaling (a factor per
# class on its logits, from 1).
CLASSIFIERS = ("linear", "cosine", "scaled")
# crt's primary head (--crt_classifier): a fresh linear classifier (cRT, Kang et al. 2020), or the first
# stage's linear classifier fine-tuned with learnable weight scaling at LWS_CLASSIFIER_LR_FACTOR of the
# learning rate, the scales at the full rate (MiSLAS's stage 2, dvlab-research/MiSLAS train_stage2.py).
CRT_CLASSIFIERS = ("fresh", "lws")
LWS_CLASSIFIER_LR_FACTOR = 0.5
AUX_TASKS = ("random", "random_shared", "reweighted", "rotation", "random_adjusted")
CLASS_COUNT_TASKS = ("reweighted", "random_adjusted")  # the tasks that need the training class counts
LAMBDA_SCHEDULES = ("constant", "cumulative")
# Two-stream step: one BatchNorm batch [x_b; x_r] (method.md), or each stream normalised alone.
STREAM_BATCH_NORMS = ("joint", "separate")
# Mixup (keras_auxlt.models.mixup): the streams whose batches are mixed (a stream the method does not
# draw is not mixed).
MIXUP_STREAMS = STREAMS
CIFAR_DEPTH_NAMES = ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
# The CIFAR ResNets, and each with a stride-2 stem (`<name>_s2`) that brings 64x64 images to the 32x32 maps the
# CIFAR ResNet was designed for, at about the cost of a 32x32 image (Tiny-ImageNet-LT's backbone, issue 52).
CIFAR_BACKBONES = (*CIFAR_DEPTH_NAMES, *(f"{name}_s2" for name in CIFAR_DEPTH_NAMES))
BACKBONES = (*CIFAR_BACKBONES, "resnet10", "resnet50")

SAMPLERS = (RANDOM_SAMPLER, "balanced", "sqrt", "reversed")
BALANCED_SAMPLERS = ("balanced", "sqrt", "reversed")  # what the balanced stream may use
TRAIN_AUGMENTATIONS = ("cifar", "imagenet", "none")
AUTO_AUGMENT_POLICIES = ("", "randaugment", "autoaugment")
EVAL_STYLES = ("cifar", "imagenet")  # as is, or resize + centre crop
LT_PROFILES = ("exp", "step")

SCHEDULES = ("multistep", "cosine")
PRECISIONS = ("off", "float16", "bfloat16")
STRATEGIES = ("auto", "mirrored", "multi_worker", "one_device")
# BatchNorm statistics of the evaluated model: as trained, or re-estimated from the joint batches
# [balanced; random] or from one stream's batches; --inference_statistics=auto picks the highest on
# validation (ties: the earlier here).
STATISTICS_SOURCES = ("as_trained", "joint", *STREAMS)
INFERENCE_STATISTICS = STATISTICS_SOURCES + ("auto",)
# The head evaluated and exported: the primary head, or the primary and the random auxiliary head fused
# with a post-hoc prior correction, weights chosen on validation (keras_auxlt.training.head_fusion).
INFERENCE_HEADS = ("primary", "fused")
FUSABLE_HEADS = ("random", "random_adjusted")  # auxiliary heads over the classes trained on the random stream
