"""Run the public reference code, kaidic/LDAM-DRW `cifar_train.py`, unchanged, on this CPU and on our decoded
pixels; resume it from its own checkpoint when run again. Runs in a PyTorch environment of its own, not the
project's (README.md beside this file):

    python run_cifar_train.py <decoded .npz> <output dir> <cifar_train.py arguments>

What it changes around the reference code, and nothing else:
- `.cuda()` is the identity and `torch.load` maps to the CPU (the code assumes a GPU); two threads.
- `torchvision.datasets.CIFAR10` reads the .npz of decode_cifar10.py instead of the pickled originals, so the
  reference's own IMBALANCECIFAR10 draws its long-tailed subset from the same pixels our runs use.
- The output dir is the working directory (its log/ and checkpoint/), and the .csv logs are opened for appending.
- When `checkpoint/<store>/ckpt.pth.tar` exists (cifar_train.py writes it after every epoch), the run resumes from
  it with cifar_train.py's own --resume (model, optimiser, epoch) and log_test.csv is cut to the epochs the
  checkpoint holds. That resume is not step-exact: data order and augmentation draw afresh.
- A file `done` marks a finished run.
"""

import os
import sys

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("LDAM_DRW", os.path.join(HERE, "LDAM-DRW"))  # a clone of kaidic/LDAM-DRW
RESULTS_LINE = "val Results:"  # the first line of each epoch's record in log_test.csv
DONE = "done"  # written into the output dir when cifar_train.py returns
_open = open


def run_on_cpu():
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    load = torch.load
    torch.load = lambda f, *args, **kwargs: load(f, map_location="cpu", weights_only=False)
    torch.set_num_threads(2)


def read_cifar10_from(npz_path):
    arrays = np.load(npz_path)

    def init(self, root, train=True, transform=None, target_transform=None, download=False):
        split = "train" if train else "test"
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        self.data = arrays[f"{split}_x"].copy()
        self.targets = [int(t) for t in arrays[f"{split}_y"]]
        self.classes = [str(c) for c in arrays["classes"]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    torchvision.datasets.CIFAR10.__init__ = init


def append_to_csv(path, mode="r", *args, **kwargs):
    return _open(path, "a" if str(path).endswith(".csv") and mode == "w" else mode, *args, **kwargs)


def cut_log(path, epochs):
    """Keep the first `epochs` records of a log_test.csv (those the checkpoint holds)."""
    kept, count = [], 0
    with _open(path) as f:
        for line in f.read().splitlines(keepends=True):
            if line.startswith(RESULTS_LINE):
                if count == epochs:
                    break
                count += 1
            kept.append(line)
    with _open(path, "w") as f:
        f.write("".join(kept))
    return count


def main(argv):
    if len(argv) < 3:
        raise SystemExit(f"usage: {argv[0]} <decoded .npz> <output dir> <cifar_train.py arguments>")
    npz_path, output, arguments = os.path.abspath(argv[1]), argv[2], argv[3:]
    if not os.path.isfile(os.path.join(REFERENCE, "cifar_train.py")):
        raise SystemExit(f"no cifar_train.py in {REFERENCE}: clone kaidic/LDAM-DRW there or set LDAM_DRW")
    run_on_cpu()
    read_cifar10_from(npz_path)
    os.makedirs(output, exist_ok=True)
    os.chdir(output)
    if os.path.exists(DONE):  # from a shorter run: this one decides again
        os.remove(DONE)
    sys.path.insert(0, REFERENCE)
    import cifar_train  # noqa: PLC0415  (after the patches above, which it must see)

    cifar_train.open = append_to_csv
    args = cifar_train.parser.parse_args(arguments)
    store = "_".join([args.dataset, args.arch, args.loss_type, args.train_rule, args.imb_type, str(args.imb_factor),
                      args.exp_str])  # as cifar_train.py names its run
    checkpoint = os.path.join(args.root_model, store, "ckpt.pth.tar")
    if os.path.exists(checkpoint):
        epoch = torch.load(checkpoint)["epoch"]
        log = os.path.join(args.root_log, store, "log_test.csv")
        records = cut_log(log, epoch) if os.path.exists(log) else 0
        print(f"resuming from {checkpoint} at epoch {epoch}; {log} cut to {records} records", flush=True)
        arguments += ["--resume", checkpoint]
    sys.argv = ["cifar_train.py", *arguments]
    cifar_train.main()
    with _open(DONE, "w") as f:
        f.write("done\n")


if __name__ == "__main__":
    main(sys.argv)
