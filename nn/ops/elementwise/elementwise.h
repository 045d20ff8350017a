// add and mul: y = a + b, y = a * b with numpy-style broadcasting (ONNX Add / Mul).
//   inputs: a, b of any ranks up to 8; shapes are aligned on the right and each dimension pair
//           must be equal or contain a 1
//   output: y with the broadcast shape
// Layout rule: an operand (or output) of rank 4 is an (N, C, H, W) activation stored channels-last;
// operands of any other rank are row-major. So (N, C, H, W) * (N, C, 1, 1) — squeeze-excitation —
// is x[n, h, w, c] * s[n, c] in memory, and (N, C, H, W) + (C, 1, 1) adds a per-channel vector.
//
// Gradient contract (each overwritten, each optional), with sum over the dimensions an operand was
// broadcast along:
//   add: da = sum(dy),       db = sum(dy)
//   mul: da = sum(dy * b),   db = sum(dy * a)
#pragma once

#include <array>

#include "nn/op_registry.h"

namespace qf {

constexpr int kMaxBroadcastRank = 8;

// The broadcast output shape of `a` and `b`; InputError naming the node when they are incompatible.
Shape broadcast_shape(const Node& node, const Shape& a, const Shape& b);

// Element strides, in memory, of a tensor with logical shape `s` (channels-last when rank 4),
// expressed along the axes of the broadcast output shape `y`: 0 on axes `s` is broadcast along or
// lacks.
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& y);

std::unique_ptr<Kernel> make_add_fast(const KernelSetup& s);
std::unique_ptr<Kernel> make_mul_fast(const KernelSetup& s);

void register_elementwise(OpRegistry& reg);

}  // namespace qf
