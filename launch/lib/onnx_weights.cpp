#include "launch/lib/onnx_weights.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace qf {

bool is_onnx_path(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".onnx";
}

OnnxWeights match_onnx_initializers(const ParamStore& store, const OnnxInitializers& onnx,
                                    const std::string& path, bool allow_missing_buffers) {
  OnnxWeights r;
  std::set<std::string> used;
  std::vector<const ParamEntry*> rest;
  for (const ParamEntry* e : store.entries()) {
    auto it = onnx.tensors.find(e->name);
    if (it == onnx.tensors.end()) {
      rest.push_back(e);
      continue;
    }
    r.tensors[e->name] = it->second;  // shapes are checked when the store loads them
    used.insert(e->name);
    ++r.by_name;
  }
  // Candidates for matching by order: floating-point tensors with at least one dimension
  // (integer initializers are shapes and axes, scalars are constants of the computation).
  std::vector<std::string> left;
  for (const std::string& name : onnx.order) {
    if (used.count(name)) continue;
    const Tensor& t = onnx.tensors.at(name);
    if ((t.dtype() == DType::f32 || t.dtype() == DType::f64) && t.rank() > 0)
      left.push_back(name);
    else
      r.unused.push_back(name);
  }
  size_t j = 0;
  for (const ParamEntry* e : rest) {
    if (j < left.size()) {
      const Tensor& t = onnx.tensors.at(left[j]);
      if (t.shape() == e->shape) {
        if (t.dtype() != e->dtype)
          throw_input_error("--init ", path, ": initializer '", left[j], "' (",
                            dtype_name(t.dtype()), ") matched '", e->name, "' by order, which is ",
                            dtype_name(e->dtype));
        r.tensors[e->name] = t;
        ++j;
        ++r.by_order;
        continue;
      }
    }
    if (allow_missing_buffers && e->kind == ValueKind::buffer) continue;
    const std::string found =
        j < left.size() ? str_cat("the next unmatched initializer in file order, '", left[j],
                                  "', is ", shape_str(onnx.tensors.at(left[j]).shape()))
                        : std::string("no unmatched floating-point initializer is left");
    throw_input_error("--init ", path, ": no initializer named '", e->name, "' (expected shape ",
                      shape_str(e->shape), "), and by order ", found, " (", r.by_name,
                      " tensors matched by name, ", r.by_order,
                      " by order before it; is this the same architecture, exported without "
                      "folding BatchNorm into the convolutions?)");
  }
  for (; j < left.size(); ++j) r.unused.push_back(left[j]);
  return r;
}

}  // namespace qf
