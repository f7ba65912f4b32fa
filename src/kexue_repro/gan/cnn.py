"""The official GN-GAN CNN for 32x32 images (basiclab/GNGAN-PyTorch ``models/dcgan.py``, ``dcgan.32``).

Generator: z -> Linear(z, 4*4*512) -> [BN, ReLU, ConvT 4/2/1] 512->256->128->64 -> BN, ReLU, ConvT 3/1/1 64->3
-> tanh. Discriminator: seven convolutions (3/1/1 then 4/2/1 alternating, 3->64->128->128->256->256->512->512)
with LeakyReLU(0.1), then Linear(4*4*512, 1). Every Linear and (transposed) convolution starts from N(0, 0.02^2)
weights and zero biases; BatchNorm keeps PyTorch's defaults.
"""

from __future__ import annotations

import torch
from torch import nn

LEAKY_SLOPE = 0.1  # the official discriminator's; the smoke MLPs use 0.2
INIT_STD = 0.02
BOTTOM = 4  # the generator's first feature map is BOTTOM x BOTTOM (32 / 2^3)


def _initialize(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, std=INIT_STD)
            nn.init.zeros_(layer.bias)


class CNNGenerator(nn.Module):
    def __init__(self, latent: int) -> None:
        super().__init__()
        self.latent = latent
        self.linear = nn.Linear(latent, BOTTOM * BOTTOM * 512)
        blocks: list[nn.Module] = []
        for fan_in, fan_out in ((512, 256), (256, 128), (128, 64)):
            blocks += [nn.BatchNorm2d(fan_in), nn.ReLU(True), nn.ConvTranspose2d(fan_in, fan_out, 4, 2, 1)]
        blocks += [nn.BatchNorm2d(64), nn.ReLU(True), nn.ConvTranspose2d(64, 3, 3, 1, 1), nn.Tanh()]
        self.main = nn.Sequential(*blocks)
        _initialize(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(self.linear(z).view(len(z), 512, BOTTOM, BOTTOM))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = next(self.parameters()).device
        return self(torch.randn(n, self.latent, generator=generator).to(device))


class CNNDiscriminator(nn.Module):
    """D: (N, 3, 32, 32) -> (N,); piecewise linear in its input (LeakyReLU only), as GN's analysis assumes."""

    CHANNELS = (3, 64, 128, 128, 256, 256, 512, 512)

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(self.CHANNELS[:-1], self.CHANNELS[1:])):
            kernel, stride = (3, 1) if i % 2 == 0 else (4, 2)
            layers += [nn.Conv2d(fan_in, fan_out, kernel, stride, 1), nn.LeakyReLU(LEAKY_SLOPE, inplace=True)]
        self.main = nn.Sequential(*layers)
        self.linear = nn.Linear(BOTTOM * BOTTOM * 512, 1)
        _initialize(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(self.main(x), start_dim=1)).squeeze(-1)
