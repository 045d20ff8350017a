"""PyTorch definitions of the qforge models torchvision lacks, with the same module names as
qforge's graphs (so state dicts interchange by name). Used by the peer benchmarks and the
model-equivalence tests. Run with Debian's /usr/bin/python3 (python3-torch)."""
import torch
import torch.nn as nn


def _conv_bn_relu(cin, cout, k, stride, groups):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MobileNetV1(nn.Module):
    """MobileNetV1 as qforge's models/mobilenet_v1.cpp builds it."""

    BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]

    def __init__(self, num_classes=1000, in_channels=3, scale=1.0):
        super().__init__()
        ch = lambda n: max(1, int(n * scale))
        cin = ch(32)
        layers = [_conv_bn_relu(in_channels, cin, 3, 2, 1)]
        for cout, stride in self.BLOCKS:
            cout = ch(cout)
            layers.append(nn.Sequential(_conv_bn_relu(cin, cin, 3, stride, cin),
                                        _conv_bn_relu(cin, cout, 1, 1, 1)))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


class LeNet(nn.Module):
    """paddle.vision.models.LeNet, as qforge's models/lenet.cpp builds it."""

    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        s = ((image_size // 2) - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5, 1, 0), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.fc = nn.Sequential(nn.Linear(16 * s * s, 120), nn.Linear(120, 84),
                                nn.Linear(84, num_classes))

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def build(name, num_classes, in_channels, image_size, scale=1.0, form="imagenet"):
    """The named model as qforge builds it in the given form ("small" or "imagenet"): qforge's
    own definitions first, then torchvision's."""
    if name == "mobilenet_v1":
        return MobileNetV1(num_classes, in_channels, scale)
    if name == "lenet":
        return LeNet(num_classes, in_channels, image_size)
    import torchvision
    return getattr(torchvision.models, name)(num_classes=num_classes)
