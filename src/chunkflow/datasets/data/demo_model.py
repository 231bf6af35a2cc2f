"""chunkflow's demo ConvNet: a small anisotropic 3D U-Net predicting 3 affinity channels.

A chunkflow-style model file: it defines ``InstantiatedModel`` (weights loaded by the
``inference`` operator from ``--convnet-weight-path``). Input: intensities in [0, 1] (the
``inference`` operator divides uint8 images by 255, as chunkflow 1.2.0 does), float32
(N, 1, Z, Y, X) with Y and X divisible by 4; output: affinities in [0, 1], (N, 3, Z, Y, X).
"""

import torch
from torch import nn


def block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, (1, 3, 3), padding=(0, 1, 1)),
        nn.ReLU(inplace=True),
        nn.Conv3d(cout, cout, (3, 3, 3), padding=(1, 1, 1)),
        nn.ReLU(inplace=True),
    )


class UNet3D(nn.Module):
    def __init__(self, width: int = 12) -> None:
        super().__init__()
        w = width
        self.enc1, self.enc2, self.bottom = block(1, w), block(w, 2 * w), block(2 * w, 4 * w)
        self.pool = nn.MaxPool3d((1, 2, 2))
        self.up2 = nn.ConvTranspose3d(4 * w, 2 * w, (1, 2, 2), stride=(1, 2, 2))
        self.dec2 = block(4 * w, 2 * w)
        self.up1 = nn.ConvTranspose3d(2 * w, w, (1, 2, 2), stride=(1, 2, 2))
        self.dec1 = block(2 * w, w)
        self.head = nn.Conv3d(w, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x - 0.5
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return torch.sigmoid(self.head(d1))


InstantiatedModel = UNet3D()
