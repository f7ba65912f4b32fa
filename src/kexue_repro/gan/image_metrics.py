"""FID and Inception Score of generated 32x32 images against the CIFAR-10 training set, by torchmetrics.

A feature extractor maps uint8 images (N, 3, H, W) to (pool features (N, d), class logits (N, k)) in one pass;
torchmetrics' FrechetInceptionDistance and InceptionScore then get those through pass-through modules, so the
network runs once per image for both metrics and the real statistics are computed once per process.

Extractors:
- ``inception``: torch-fidelity's FeatureExtractorInceptionV3 ("inception-v3-compat": the TF Inception of the
  official FID/IS code, 2048-d pool3 features and the unbiased logits; TF1-style bilinear resize to 299), the
  network torchmetrics itself uses for FID/IS. torch-fidelity and torchvision are the optional extra ``fid``;
  its weights come from torch-fidelity's GitHub release, or from a local file (``weights_path``).
- ``random``: a small convolutional network with seeded random weights: the same machinery at no cost, for
  tests and CPU runs (its numbers are not FIDs anyone publishes).
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterable

import torch
from torch import nn

EXTRACTORS = ("inception", "random")
FID_EXTRA_HINT = (
    "FID/IS with Inception need the optional extra 'fid' (torch-fidelity and a torchvision matching your "
    "torch): pip install -e '.[fid]' (docs/scales.md, 'Full-scale GAN metrics')"
)

Extractor = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class RandomFeatures(nn.Module):
    """Seeded random convolutional features (N, 64) and logits (N, 10) of uint8 images (N, 3, H, W)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Linear(64, 10)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.3)
        self.eval().requires_grad_(False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(images.float() / 127.5 - 1)
        return features, self.head(features)


def inception_extractor(weights_path: str | None) -> nn.Module:
    """torch-fidelity's Inception v3 returning (2048-d pool3 features, unbiased logits)."""
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as exc:
        raise OSError(f"{FID_EXTRA_HINT} ({exc})") from None
    return FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=weights_path
    ).eval()


def make_extractor(name: str, weights_path: str | None, seed: int) -> nn.Module:
    if name == "inception":
        return inception_extractor(weights_path or None)
    if name == "random":
        return RandomFeatures(seed)
    raise ValueError(f"unknown feature extractor {name!r}; expected one of {EXTRACTORS}")


class PassThrough(nn.Module):
    """The 'feature network' handed to torchmetrics: the features are computed beforehand."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 in [0, 255], as the official code saves and scores images."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class ImageMetrics:
    """FID against fixed real images and Inception Score, for any number of generated sets.

    ``real`` batches are uint8 images; their statistics are accumulated once, at construction.
    """

    def __init__(
        self,
        extractor: nn.Module,
        real: Iterable[torch.Tensor],
        is_splits: int,
        device: torch.device,
    ) -> None:
        from torchmetrics.image.fid import FrechetInceptionDistance

        self.extractor, self.device, self.is_splits = extractor.to(device), device, is_splits
        self.fid = None
        with torch.no_grad():
            for batch in real:
                features, _ = self.extractor(batch.to(device))
                if self.fid is None:
                    self.fid = FrechetInceptionDistance(
                        feature=PassThrough(features.shape[1]), reset_real_features=False
                    ).to(device)
                self.fid.update(features, real=True)
        if self.fid is None:
            raise ValueError("no real images for the FID statistics")
        self.n_real = int(self.fid.real_features_num_samples)

    def score(self, fake: Iterable[torch.Tensor], is_seed: int) -> dict[str, float]:
        """FID and IS (mean and std over ``is_splits`` splits) of uint8 generated batches."""
        from torchmetrics.image.inception import InceptionScore

        self.fid.reset()  # the real statistics stay (reset_real_features=False)
        inception_score = None
        n = 0
        with torch.no_grad():
            for batch in fake:
                features, logits = self.extractor(batch.to(self.device))
                if inception_score is None:
                    with warnings.catch_warnings():  # it keeps every logit: 50,000 x 1,008 floats, by design
                        warnings.filterwarnings("ignore", "Metric `InceptionScore` will save all")
                        inception_score = InceptionScore(
                            feature=PassThrough(logits.shape[1]), splits=self.is_splits
                        ).to(self.device)
                self.fid.update(features, real=False)
                inception_score.update(logits)
                n += len(batch)
            fid = float(self.fid.compute())
            # InceptionScore shuffles before splitting with the global generator: seed it, leave it as it was.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(is_seed)
                is_mean, is_std = (float(v) for v in inception_score.compute())
        return {"fid": fid, "is_mean": is_mean, "is_std": is_std, "n_fake": n, "n_real": self.n_real}
