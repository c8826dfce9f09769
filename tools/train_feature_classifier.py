"""Train the Fashion-MNIST classifier behind the `fashion32` sample-quality features and write
it into the package (src/gahr/pretrained/features/fashion32-classifier.safetensors + .json).

Trained on the 60000 Fashion-MNIST training images (padded to 32x32, [0, 1], as gahr's
`fashion-mnist` source gives them), tested on the 10000 test images (t10k), which no shipped
denoiser saw either.

    OMP_NUM_THREADS=1 python tools/train_feature_classifier.py [--epochs 2] [--out FILE]
"""

import argparse
import platform
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from gahr.analysis.features import CLASSIFIER_FILE
from gahr.data import fashion_mnist, fashion_mnist_labels
from gahr.io import atomic_path, save_json
from gahr.train.classifier import accuracy, train_classifier


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=CLASSIFIER_FILE)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    x_train, y_train = fashion_mnist(split="train"), fashion_mnist_labels(split="train")
    x_test, y_test = fashion_mnist(split="test"), fashion_mnist_labels(split="test")
    net, summary = train_classifier(x_train, y_train, epochs=args.epochs, seed=args.seed)
    test_acc, train_acc = accuracy(net, x_test, y_test), accuracy(net, x_train[:10000],
                                                                  y_train[:10000])
    meta = {"widths": list(net.widths), "num_features": net.num_features,
            "test_accuracy": round(test_acc, 4), "train_accuracy_first_10000": round(train_acc, 4),
            "data": "Fashion-MNIST train (60000), padded to 32x32, [0, 1]; tested on t10k",
            "command": "OMP_NUM_THREADS=1 python tools/train_feature_classifier.py "
                       + " ".join(argv if argv is not None else sys.argv[1:]),
            "torch": torch.__version__, "machine": platform.machine(), **summary}
    with atomic_path(args.out) as tmp:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
    save_json(meta, args.out.with_suffix(".json"))
    print(f"test accuracy {test_acc:.4f} (train {train_acc:.4f}), {summary['wall_s']} s "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
