r"""Small hand-written networks to point :func:`gradexp.torch.gradient_profile` at.

Written by hand (torchvision is not a dependency): the layer patterns of the architectures
the papers measure, at sizes a CPU handles in seconds. Every factory takes keyword arguments
only and has defaults, so ``gradexp probe gradexp.torch.models:resnet_like`` works. Every
parameter is re-drawn by a ``reset_parameters()`` (the ViT's tokens and position embedding
included), so :func:`gradexp.torch.gradient_profile` re-initialises the whole network.

* :func:`bn_mlp`: Linear → BN → φ, repeated (the theory's chain; Paik & Choi Fig. 1,
  Yang et al. 2019).
* :func:`toynet`: Mehmeti-Göpel & Wand's ToyNet: 3×3 convolutions of constant width → BN
  (no affine parameters) → ReLU, repeated (their Appendix C, width 32).
* :func:`resnet_like`: a CIFAR-style ResNet-18 (basic blocks, BN after every convolution,
  projection shortcuts), channel base ``width``.
* :func:`vgg_like`: VGG-11 with BN (``vgg11_bn``'s configuration), channel base ``width``.
* :func:`small_vit`: a pre-norm vision transformer (LayerNorm), patch embedding, class token.

References
----------
He et al., "Deep residual learning for image recognition", CVPR 2016; Simonyan & Zisserman,
"Very deep convolutional networks", ICLR 2015; Dosovitskiy et al., "An image is worth 16x16
words", ICLR 2021; Mehmeti-Göpel & Wand [mehmeti-gopel-wand], Appendix C (ToyNet).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validate import check_int

__all__ = ["bn_mlp", "toynet", "resnet_like", "vgg_like", "small_vit", "MODELS"]

_ACTS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU,
         "identity": nn.Identity, "elu": nn.ELU}


def _act(name: str) -> nn.Module:
    if name not in _ACTS:
        raise ValueError(f"activation must be one of {', '.join(_ACTS)}; got {name!r}")
    return _ACTS[name]()


def bn_mlp(*, depth: int = 30, width: int = 1024, d_in: int = 64, classes: int = 10,
           activation: str = "relu", affine: bool = True) -> nn.Sequential:
    """``depth`` blocks Linear → BatchNorm1d → φ, then a linear head (input ``(B, d_in)``).

    >>> net = bn_mlp(depth=2, width=8, d_in=3)
    >>> net(torch.randn(4, 3)).shape
    torch.Size([4, 10])
    """
    depth = check_int(depth, "depth", lo=1)
    width = check_int(width, "width", lo=2)
    layers: list[nn.Module] = []
    d = check_int(d_in, "d_in", lo=1)
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.BatchNorm1d(width, affine=affine), _act(activation)]
        d = width
    layers.append(nn.Linear(width, check_int(classes, "classes", lo=1)))
    return nn.Sequential(*layers)


def toynet(*, depth: int = 50, width: int = 32, in_channels: int = 3, classes: int = 10) -> nn.Sequential:
    """Mehmeti-Göpel & Wand's ToyNet: ``depth`` blocks conv3×3 (``width`` filters, stride 1) →
    BatchNorm2d without affine parameters → ReLU, global average pooling, a linear head.

    >>> toynet(depth=2, width=4)(torch.randn(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    depth = check_int(depth, "depth", lo=1)
    width = check_int(width, "width", lo=1)
    layers: list[nn.Module] = []
    c = check_int(in_channels, "in_channels", lo=1)
    for _ in range(depth):
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width, affine=False),
                   nn.ReLU(inplace=True)]
        c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, classes)]
    return nn.Sequential(*layers)


class _BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class _ResNet(nn.Module):
    def __init__(self, blocks, width, in_channels, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        stages, c = [], width
        for i, n in enumerate(blocks):
            c_out = width * 2 ** i
            for j in range(n):
                stages.append(_BasicBlock(c, c_out, 2 if (j == 0 and i > 0) else 1))
                c = c_out
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.layers(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def resnet_like(*, width: int = 16, blocks=(2, 2, 2, 2), in_channels: int = 3,
                classes: int = 10) -> nn.Module:
    """A CIFAR-style ResNet-18 (``blocks=(2, 2, 2, 2)``): conv3×3 stem, basic blocks
    conv → BN → ReLU → conv → BN, + shortcut (1×1 conv → BN when the shape changes), ReLU;
    channels ``width·2^stage``; input ``(B, in_channels, H, W)``.

    >>> resnet_like(width=4)(torch.randn(2, 3, 16, 16)).shape
    torch.Size([2, 10])
    """
    width = check_int(width, "width", lo=1)
    blocks = tuple(check_int(b, "blocks", lo=1) for b in blocks)
    return _ResNet(blocks, width, check_int(in_channels, "in_channels", lo=1),
                   check_int(classes, "classes", lo=1))


#: VGG-11 (configuration "A"): channels in units of ``width/64``, "M" max-pooling
VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def vgg_like(*, width: int = 16, config=VGG11, in_channels: int = 3, classes: int = 10) -> nn.Sequential:
    """VGG with BN (``vgg11_bn``'s layer pattern): conv3×3 → BN → ReLU, max-pooling at "M",
    channels ``c·width/64`` for each ``c`` of ``config``, global average pooling, linear head.

    >>> vgg_like(width=4)(torch.randn(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    width = check_int(width, "width", lo=1)
    layers: list[nn.Module] = []
    c = check_int(in_channels, "in_channels", lo=1)
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        c_out = max(1, int(v) * width // 64)
        layers += [nn.Conv2d(c, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
    return nn.Sequential(*layers)


class _Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got {dim} and {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(b, n, d))


class _ViTBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _ViT(nn.Module):
    def __init__(self, image, patch, in_channels, dim, depth, heads, mlp_ratio, classes):
        super().__init__()
        if image % patch:
            raise ValueError(f"image must be divisible by patch, got {image} and {patch}")
        self.embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, (image // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[_ViTBlock(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.reset_parameters()

    def reset_parameters(self):
        """Truncated-normal (σ = 0.02) class token and position embedding, as in ViT."""
        nn.init.trunc_normal_(self.cls, std=0.02)
        nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def small_vit(*, image: int = 32, patch: int = 4, in_channels: int = 3, dim: int = 64, depth: int = 6,
              heads: int = 4, mlp_ratio: int = 2, classes: int = 10) -> nn.Module:
    """A pre-norm vision transformer: patch embedding, class token, position embedding,
    ``depth`` blocks x + Attn(LN(x)), x + MLP(LN(x)) (GELU), a final LayerNorm and head.

    >>> small_vit(image=8, patch=4, dim=8, depth=1, heads=2)(torch.randn(2, 3, 8, 8)).shape
    torch.Size([2, 10])
    """
    return _ViT(check_int(image, "image", lo=1), check_int(patch, "patch", lo=1),
                check_int(in_channels, "in_channels", lo=1), check_int(dim, "dim", lo=1),
                check_int(depth, "depth", lo=1), check_int(heads, "heads", lo=1),
                check_int(mlp_ratio, "mlp_ratio", lo=1), check_int(classes, "classes", lo=1))


#: name -> (factory, input shape without the batch axis) of the built-in test models
MODELS = {
    "bn_mlp": (bn_mlp, (64,)),
    "toynet": (toynet, (3, 32, 32)),
    "resnet_like": (resnet_like, (3, 32, 32)),
    "vgg_like": (vgg_like, (3, 32, 32)),
    "small_vit": (small_vit, (3, 32, 32)),
}
