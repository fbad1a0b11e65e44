"""How far a classifier's probabilities can be trusted: expected calibration error, negative log-likelihood, the
reliability diagram, and the per-image record that later questions are answered from without the checkpoint.

ECE follows MiSLAS (dvlab-research/MiSLAS `utils/metric.py`, the figure it reports): 15 equal-width bins of the top-1
confidence, bin b holding confidences in ((b - 1) / 15, b / 15], and the gap |accuracy - mean confidence| of each bin
weighted by its share of the images. NumPy only.
"""

import numpy as np

ECE_BINS = 15


def softmax(logits):
    """Probabilities [N, K] of float logits [N, K], in float64."""
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def per_image(labels, probabilities):
    """What a test report keeps of each image: its label, the prediction, the probability of the prediction (the
    confidence) and that of the true class. Small dtypes: the record is kept for every run."""
    labels = np.asarray(labels, np.int64)
    prediction = np.argmax(probabilities, axis=-1)
    rows = np.arange(len(labels))
    return {"label": labels.astype(np.int32), "prediction": prediction.astype(np.int32),
            "p_prediction": probabilities[rows, prediction].astype(np.float32),
            "p_true": probabilities[rows, labels].astype(np.float32)}


def reliability_bins(confidence, correct, bins=ECE_BINS):
    """Per bin of the top-1 confidence: (image count, mean confidence, accuracy); empty bins hold zeros."""
    confidence = np.asarray(confidence, np.float64)
    correct = np.asarray(correct, np.float64)
    index = np.digitize(confidence, np.linspace(0.0, 1.0, bins + 1), right=True) - 1  # (lower, upper] -> b
    inside = (index >= 0) & (index < bins)
    counts = np.bincount(index[inside], minlength=bins)
    sums = np.bincount(index[inside], weights=confidence[inside], minlength=bins)
    hits = np.bincount(index[inside], weights=correct[inside], minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts, np.where(counts > 0, sums / counts, 0.0), np.where(counts > 0, hits / counts, 0.0)


def expected_calibration_error(confidence, correct, bins=ECE_BINS):
    """ECE in [0, 1]: the mean over images of |accuracy - confidence| of their confidence bin."""
    counts, mean_confidence, accuracy = reliability_bins(confidence, correct, bins)
    return float(np.sum(counts * np.abs(accuracy - mean_confidence)) / max(int(counts.sum()), 1))


def negative_log_likelihood(p_true):
    """Mean -log p(true class), the probabilities floored at the smallest positive float32 (a certain mistake
    counts as about 87, not infinity)."""
    return float(-np.mean(np.log(np.maximum(np.asarray(p_true, np.float64), np.finfo(np.float32).tiny))))


def calibration_metrics(record):
    """{"ece", "nll"} of a per-image record (`per_image`)."""
    correct = record["prediction"] == record["label"]
    return {"ece": expected_calibration_error(record["p_prediction"], correct),
            "nll": negative_log_likelihood(record["p_true"])}


def plot_reliability(record, path, title="", bins=ECE_BINS):
    """The reliability diagram of a per-image record as a PNG: accuracy and mean confidence per bin, with each
    bin's share of the images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    correct = record["prediction"] == record["label"]
    counts, mean_confidence, accuracy = reliability_bins(record["p_prediction"], correct, bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    metrics = calibration_metrics(record)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    top.bar(edges[:-1], accuracy, width=1 / bins, align="edge", edgecolor="black", label="accuracy")
    top.bar(edges[:-1], mean_confidence - accuracy, bottom=accuracy, width=1 / bins, align="edge", color="tab:red",
            alpha=0.35, label="gap to the mean confidence")
    top.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    top.set_ylabel("accuracy")
    top.set_ylim(0, 1)
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"{title + ': ' if title else ''}ECE {100 * metrics['ece']:.1f} %, NLL {metrics['nll']:.3f}")
    bottom.bar(edges[:-1], counts / max(counts.sum(), 1), width=1 / bins, align="edge", edgecolor="black")
    bottom.set_xlabel(f"top-1 confidence ({bins} equal-width bins)")
    bottom.set_ylabel("share")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


TEMPERATURE_RANGE = (0.05, 20.0)  # the temperatures a fit may choose


def fit_temperature(logits, labels, low=TEMPERATURE_RANGE[0], high=TEMPERATURE_RANGE[1], iterations=80):
    """The temperature T > 0 that minimises the mean NLL of softmax(logits / T) on (logits, labels): temperature
    scaling (Guo et al. 2017), fitted on a validation split only. The NLL is convex in 1 / T, so a golden-section
    search over 1 / T in [1 / high, 1 / low] finds its minimum; dividing the logits by T > 0 keeps every argmax."""
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels, np.int64)

    def nll(inverse):
        return negative_log_likelihood(softmax(logits * inverse)[np.arange(len(labels)), labels])

    a, b = 1.0 / high, 1.0 / low
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    f_c, f_d = nll(c), nll(d)
    for _ in range(iterations):
        if f_c <= f_d:
            b, d, f_d = d, c, f_c
            c = b - ratio * (b - a)
            f_c = nll(c)
        else:
            a, c, f_c = c, d, f_d
            d = a + ratio * (b - a)
            f_d = nll(d)
    return float(1.0 / ((a + b) / 2.0))
