"""Every qforge model in PyTorch, built exactly as qforge builds it (same layers, same module and
state-dict names, same small-input adaptations), so state dicts interchange by name: the models
torchvision lacks (MobileNetV1, LeNet) are defined here, the others are torchvision 0.14's, with
the stem adapted to in_channels and, in the small form, the strides changed as models/*.cpp and
docs/models.md describe. Used by the peer benchmarks (tools/torch_train_bench.py) and the
model-equivalence test (tests/models/torchvision_match_test.cpp). Run with Debian's
/usr/bin/python3 (python3-torch, python3-torchvision)."""
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


NAMES = ["lenet", "mobilenet_v1", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
         "resnet18", "resnet34", "resnet50", "vgg16_bn"]


def _conv(cin, cout, k, stride, bias):
    """A conv initialised as torchvision initialises its convs (kaiming normal, fan_out)."""
    conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=bias)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    if bias:
        nn.init.zeros_(conv.bias)
    return conv


def build(name, num_classes, in_channels, image_size, scale=1.0, form="small"):
    """The named model in the "small" form (1x28x28-sized inputs; strides adapted) or the
    "imagenet" form (torchvision's definition; only the stem follows in_channels)."""
    if form not in ("small", "imagenet"):
        raise ValueError(f"form must be small or imagenet, got {form!r}")
    small = form == "small"
    if name == "mobilenet_v1":  # the PaddleSlim tutorial keeps the ImageNet strides
        return MobileNetV1(num_classes, in_channels, scale)
    if name == "lenet":
        return LeNet(num_classes, in_channels, image_size)
    if name not in NAMES:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(NAMES)})")
    import torchvision
    tv = torchvision.models
    if name.startswith("mobilenet"):
        m = getattr(tv, name)(num_classes=num_classes, width_mult=scale)
        stem = m.features[0][0]  # stride 1 in the small form
        m.features[0][0] = _conv(in_channels, stem.out_channels, 3, 1 if small else 2, False)
        return m
    if scale != 1.0:
        raise ValueError(f"{name} has no width multiplier (scale must be 1.0)")
    if name.startswith("resnet"):
        m = getattr(tv, name)(num_classes=num_classes)
        # Small form: a 3x3 stride-1 stem (not 7x7 stride 2); the max pool stays.
        m.conv1 = _conv(in_channels, 64, 3 if small else 7, 1 if small else 2, False)
        return m
    m = tv.vgg16_bn(num_classes=num_classes)
    m.features[0] = _conv(in_channels, 64, 3, 1, True)
    if small:  # no last max pool (features.43), a global average pool, Linear(512, 4096)
        m.features = nn.Sequential(*list(m.features)[:-1])
        m.avgpool = nn.AdaptiveAvgPool2d(1)
        m.classifier[0] = nn.Linear(512, 4096)
        nn.init.normal_(m.classifier[0].weight, 0, 0.01)
        nn.init.zeros_(m.classifier[0].bias)
    return m
