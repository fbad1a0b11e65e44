"""The variants the results page compares: each a method name and the train.py flags it adds to the
shared base flagfile. Plain data (no TensorFlow, no flags), read by benchmarks.accuracy and the tests."""

# The base recipe (flags/cifar10_lt*.cfg) is the AuxLT recipe, which mixes: every variant says its mixup.
NO_MIXUP = "--mixup_alpha=0"
MIXUP = "--mixup_alpha=0.5"
# Variant name -> train.py flags on top of the base flagfile.
VARIANTS = {
    "ce": ["--method=ce", NO_MIXUP],
    "balanced": ["--method=balanced", NO_MIXUP],
    "cb_loss": ["--method=cb_loss", NO_MIXUP],
    "drw": ["--method=drw", NO_MIXUP],
    "logit_adjust": ["--method=logit_adjust", NO_MIXUP],
    "crt": ["--method=crt", NO_MIXUP],  # + --init_from its STAGE_ONE run of the same seed, see train_command()
    "auxlt": ["--method=auxlt", "--aux_tasks=random", NO_MIXUP],  # as published
    "auxlt_rotation": ["--method=auxlt", "--aux_tasks=random,rotation", NO_MIXUP],
    "auxlt_reweighted": ["--method=auxlt", "--aux_tasks=reweighted", NO_MIXUP],
    "auxlt_shared": ["--method=auxlt", "--aux_tasks=random_shared", NO_MIXUP],
    "auxlt_detached": ["--method=auxlt", "--aux_tasks=random", "--aux_detach_features", NO_MIXUP],
    # Not in the default set (method.md's step is one BatchNorm batch): the per-stream BatchNorm option.
    "auxlt_separate_bn": ["--method=auxlt", "--aux_tasks=random", "--stream_batch_norm=separate", NO_MIXUP],
    # Candidates of a better recipe (issue 23); auxlt_mixup won on validation and is the AuxLT recipe.
    "auxlt_fused": ["--method=auxlt", "--aux_tasks=random", "--inference_head=fused", NO_MIXUP],
    "auxlt_adjusted": ["--method=auxlt", "--aux_tasks=random_adjusted", NO_MIXUP],
    # Controls: does mixup lift the strongest baseline as much? (issue 23: our mixup in cRT's first stage.)
    "ce_mixup": ["--method=ce", MIXUP],
    "crt_ce_mixup": ["--method=crt", NO_MIXUP],  # on ce_mixup: only the first stage mixes
    # The leading baselines at the 200-epoch schedule (issue 38), each as its authors' code trains CIFAR-10-LT.
    # LDAM-DRW (kaidic/LDAM-DRW): LDAM on a cosine classifier, DRW from --drw_start_epoch (160; 24 short).
    "ldam_drw": ["--method=ldam_drw", NO_MIXUP],
    # cRT as MiSLAS (dvlab-research/MiSLAS, config/cifar10/cifar10_imb001_stage*.yaml) trains it: stage 1 is CE
    # with mixup alpha 1 and lr x0.1 / x0.01 at the milestones (160, 180); stage 2 our cRT stage with its
    # label-aware smoothing (0.3 for the head class to 0.0 for the rarest; its CIFAR-10 config shifts no BatchNorm).
    "ce_mislas": ["--method=ce", "--mixup_alpha=1.0", "--lr_factors=0.1,0.01"],
    "crt_mixup": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0"],
    # BBN (megvii-research/BBN): conventional + reversed-sampling branches, its schedule in <base>_bbn.cfg.
    "bbn": ["--method=bbn", NO_MIXUP, "--balanced_sampler=reversed"],
    "auxlt_mixup": ["--method=auxlt", "--aux_tasks=random", MIXUP, "--mixup_streams=balanced,random"],
    # Issue 38's search, should no AuxLT row lead: crt_mixup's second stage on auxlt_mixup's backbone.
    "auxlt_mixup_crt": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0"],
    # The next step of that search (docs/experiments/2026-12-07-auxlt-mislas.md): mixup as MiSLAS's first stage uses it
    # (ce_mislas: alpha 1, lr x0.1 / x0.01 at the milestones) in AuxLT, on both streams as auxlt_mixup mixes; then
    # crt_mixup's second stage on it.
    "auxlt_mislas": ["--method=auxlt", "--aux_tasks=random", "--mixup_alpha=1.0", "--mixup_streams=balanced,random",
                     "--lr_factors=0.1,0.01"],
    "auxlt_mislas_crt": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0"],
    # MiSLAS's own second stage (train_stage2.py): the first stage's classifier fine-tuned at half the learning rate
    # with a learnable scale per class (LWS) and label-aware smoothing; on our cRT stage's schedule (20 epochs at
    # 200, MiSLAS 10), on MiSLAS's first stage and on auxlt_mixup's (the "LWS stage on the AuxLT backbone").
    "crt_mixup_lws": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0", "--crt_classifier=lws"],
    "auxlt_mixup_lws": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0", "--crt_classifier=lws"],
    # The LWS stage on auxlt_mislas (defined above).
    "auxlt_mislas_lws": ["--method=crt", NO_MIXUP, "--label_aware_smoothing=0.3,0.0", "--crt_classifier=lws"],
    "auxlt_mixup_fused": ["--method=auxlt", "--aux_tasks=random", MIXUP, "--mixup_streams=balanced,random",
                          "--inference_head=fused"],
}
# The row of the AuxLT recipe (AuxLT with input mixup on both streams, chosen on the 30-epoch schedule; what
# flags/cifar10_lt.cfg trains) and of AuxLT as published (flags/cifar10_lt_paper.cfg). Which recipe `./run train`
# recommends is the 200-epoch table's verdict (benchmarks.headline.recommendation), not this constant.
AUXLT_RECIPE, PUBLISHED_AUXLT = "auxlt_mixup", "auxlt"
# The one-command recipes that ship, by the row each trains (a test checks that each resolves to its row's flags;
# cifar10_lt_crt_mixup.cfg trains its first stage too). `./run train` runs the one of the row the 200-epoch table
# recommends (benchmarks.headline.recommendation), AUXLT_RECIPE's until its verdict is final.
RECIPES = {AUXLT_RECIPE: "flags/cifar10_lt.cfg", PUBLISHED_AUXLT: "flags/cifar10_lt_paper.cfg",
           "ce_mislas": "flags/cifar10_lt_mislas.cfg", "crt_mixup": "flags/cifar10_lt_crt_mixup.cfg",
           "bbn": "flags/cifar10_lt_bbn.cfg"}
# Variants that differ from another only after training: --reuse_training_from takes that one's runs.
TRAINED_AS = {"auxlt_fused": "auxlt", "auxlt_mixup_fused": "auxlt_mixup"}
# The rows of docs/results.md: the baselines, AuxLT as published, and AuxLT with each addition of the
# AuxLT recipe (issue 23).
DEFAULT_METHODS = ["ce", "balanced", "cb_loss", "drw", "logit_adjust", "crt", "auxlt", "auxlt_mixup", "auxlt_mixup_fused"]
# Two-stage variant -> the run its second stage starts from (and whose budget it adds).
STAGE_ONE = {"crt": "ce", "crt_ce_mixup": "ce_mixup", "crt_mixup": "ce_mislas", "auxlt_mixup_crt": "auxlt_mixup",
             "auxlt_mislas_crt": "auxlt_mislas", "crt_mixup_lws": "ce_mislas", "auxlt_mixup_lws": "auxlt_mixup",
             "auxlt_mislas_lws": "auxlt_mislas"}
# train.py methods whose recipe depends on the schedule: a variant of one trains with `<base>_<method>.cfg`,
# beside the base flagfile (crt: the second stage's schedule; bbn: BBN's milestones).
OWN_RECIPE = ("crt", "bbn")
