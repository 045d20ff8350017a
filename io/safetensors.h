// safetensors files (https://github.com/huggingface/safetensors format): an 8-byte little-endian
// header length, a JSON header mapping each tensor name to {dtype, shape, data_offsets} (plus an
// optional "__metadata__" string map), then the raw little-endian data.
//
// Tensor shapes are logical and data row-major, exactly as PyTorch's safetensors writes them, so
// torchvision state dicts load unchanged. (4-D *activations* never go to files; weights keep their
// canonical layout in memory too.)
#pragma once

#include <map>
#include <string>

#include "nn/tensor.h"

namespace qf {

using TensorMap = std::map<std::string, Tensor>;
using StringMap = std::map<std::string, std::string>;

// Writes host tensors atomically: to a temporary file in the same directory, then renamed.
// F32, F64, I8, U8, I16, I32, I64 are written as such; tensors sorted by name, so the same
// inputs give the same bytes. "__metadata__" cannot name a tensor (InputError).
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const StringMap& metadata = {});

// Reads a safetensors file into host tensors. F16 and BF16 tensors are widened to float32, BOOL
// tensors load as uint8. `metadata`, when given, is replaced by the file's "__metadata__" map.
// A missing, truncated or malformed file is an InputError naming the file and what is wrong.
TensorMap load_safetensors(const std::string& path, StringMap* metadata = nullptr);

}  // namespace qf
