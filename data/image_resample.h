// Bilinear resample + horizontal flip + BGR->RGB + ImageNet normalization of an 8-bit, 3-channel
// image in one pass, written straight into a float32 (n, n, 3) sample: the pixel work of both
// ImageNet transforms (data/image_list.h) after decoding.
//
// Geometry (ResampleSpec): the rectangle `src` of the image is resized (conceptually) to
// resized_width x resized_height, and the n x n window at (top, left) of that resized image is
// written, mirrored left-right when `flip`. Training: src = the RandomResizedCrop box, resized to
// n x n, window (0, 0). Evaluation: src = the whole image, resized to resize_short_size(...),
// window = center_crop_box(...): only the window's pixels are computed, each by the same formula as
// in the full resized image, so the result is exactly "resize, then crop".
//
// Resized pixel (X, Y) samples the source at OpenCV's INTER_LINEAR coordinates (half-pixel
// centres, no antialiasing):
//   sx = float((X + 0.5) * s_x - 0.5),  s_x = 1 / (resized_width / src.width)   (double, as
//   cv::resize) x0 = floor(sx), fx = sx - x0;  sx < 0 -> x0 = 0, fx = 0;  x0 >= src.width - 1 -> x0
//   = last, fx = 0
// (likewise y), x0 and y0 counted from src's corner, and
//   h(row)   = S[row][x0] * (1 - fx) * k + S[row][x0 + 1] * fx * k       (k = 1 / std of the
//   channel) out      = h(y0) * (1 - fy) + h(y0 + 1) * fy + b                     (b = -mean / std)
// in float (fused multiply-adds, in this order), for output channel c from input channel 2 - c
// (BGR in, RGB out). Unlike cv::resize, the weights are not rounded to 11 bits and the result is
// not rounded to 8 bits before normalizing: the sample differs from "cv::resize, then normalize"
// by less than one 8-bit level (tests/data/image_list_opencv_test.cpp checks it).
//
// Kernels: `ref` computes every output value from the formula above (the oracle); `fast`
// precomputes per-column taps and weights, computes each source row's horizontal pass once
// (AVX-512: byte windows + vpermb where the build has VBMI, else gathers; without AVX-512 the same
// loop as ref) and blends two cached rows per output row. Both give identical floats (same
// operations in the same order).
//
// Memory: the caller owns `out` (3 n n floats) and a ResampleScratch, which grows to fit the
// largest n seen and is then reused: no allocation per sample. Not thread-safe per scratch.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image_transforms.h"

namespace qf {

struct ResampleSpec {
  CropBox src;                                // rectangle of the image that is resized
  int resized_width = 0, resized_height = 0;  // the size it is resized to
  int top = 0, left = 0;                      // the window of the resized image that is written
  int size = 0;                               // n: the window is n x n
  bool flip = false;                          // mirror the window left-right
};

// An 8-bit BGR image (3 interleaved channels), rows `stride` bytes apart.
struct ImageView {
  const uint8_t* data = nullptr;
  int width = 0, height = 0;
  int64_t stride = 0;
};

// Per-thread buffers of the fast kernel.
struct ResampleScratch {
  std::vector<int32_t> col_index;     // per output element: byte offset of its left tap in a row
  std::vector<float> col_w0, col_w1;  // per output element: tap weights times 1 / std
  std::vector<float> rows;            // two cached horizontal passes
  // Per 16 output elements (AVX-512 VBMI): the first byte of the source window they read, the
  // window's load mask, and the byte permutation that picks their taps out of it.
  std::vector<int32_t> chunk_base;
  std::vector<uint64_t> chunk_mask;
  std::vector<uint8_t> chunk_perm;
};

enum class ResampleKernel { fast, ref };

// Per output element of a row (3 n values, RGB): k = 1 / std and b = -mean / std of its channel.
struct ChannelAffine {
  const float* scale = nullptr;
  const float* bias = nullptr;
};

// Writes the (n, n, 3) float sample of `spec` (see the top of this file). The spec must be
// valid: src inside the image and non-empty, resized size >= 1, the window inside the resized
// image (QF_CHECK).
void resample_normalize(const ImageView& image, const ResampleSpec& spec, ChannelAffine affine,
                        float* out, ResampleScratch& scratch,
                        ResampleKernel kernel = ResampleKernel::fast);

}  // namespace qf
