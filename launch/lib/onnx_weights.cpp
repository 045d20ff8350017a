#include "launch/lib/onnx_weights.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "io/onnx_fold.h"

namespace qf {

namespace {

// Why a file's tensors may not fit the model, for the error message.
std::string mismatch_hint(const ParamStore& store, const OnnxWeightTensors& onnx) {
  bool model_has_bn = false;
  for (const ParamEntry* e : store.entries()) {
    const std::string& n = e->name;
    model_has_bn = model_has_bn || (n.size() > 12 && n.compare(n.size() - 12, 12, ".running_var") == 0);
  }
  if (model_has_bn && !onnx.has_batch_norm)
    return "the file has no BatchNormalization nodes: its BatchNorms were folded into the "
           "convolutions (torch.onnx.export does that in eval mode), so it holds no BatchNorm "
           "tensors for this model; import the file itself with --model FILE.onnx, or export with "
           "training=torch.onnx.TrainingMode.TRAINING";
  return "is the file the same architecture as the model the model keys describe?";
}

}  // namespace

OnnxWeightTensors onnx_weight_tensors(const std::string& path) {
  onnx::ModelProto m;
  read_onnx_model(path, m);
  OnnxInitializers all;  // initializers and the aliases nodes make of them
  std::vector<std::string> file_order;
  for (const onnx::TensorProto& t : m.graph().initializer()) {
    all.tensors[t.name()] = tensor_from_onnx(t, path);
    file_order.push_back(t.name());
  }
  OnnxWeightTensors r;
  std::set<std::string> placed;
  std::map<std::string, Tensor> constants;  // Constant nodes: candidates only through an Identity
  for (const onnx::NodeProto& n : m.graph().node()) {
    if (n.op_type() == "Constant" && n.output_size() == 1)
      constants[n.output(0)] = onnx_constant_value(n, path + ": node '" + n.name() + "'");
    if (n.op_type() == "Identity" && n.input_size() == 1) {
      const std::string& in = n.input(0);
      if (all.tensors.count(in)) all.tensors[n.output(0)] = all.tensors.at(in);
      if (constants.count(in)) all.tensors[n.output(0)] = constants.at(in);
      continue;  // the alias is placed where it is used, not here
    }
    r.has_batch_norm = r.has_batch_norm || n.op_type() == "BatchNormalization";
    for (const std::string& in : n.input())
      if (all.tensors.count(in) && placed.insert(in).second) r.order.push_back(in);
  }
  for (const std::string& name : file_order)
    if (placed.insert(name).second) r.order.push_back(name);
  for (const std::string& name : r.order) r.tensors[name] = all.tensors.at(name);
  return r;
}

bool is_onnx_path(const std::string& path) {
  if (path.size() < 5) return false;
  std::string ext = path.substr(path.size() - 5);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext == ".onnx";
}

OnnxWeights match_onnx_initializers(const ParamStore& store, const OnnxWeightTensors& onnx,
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
        j < left.size() ? str_cat("the next unmatched tensor in the order the graph uses them, '",
                                  left[j], "', is ", shape_str(onnx.tensors.at(left[j]).shape()))
                        : std::string("no unmatched floating-point tensor is left");
    throw_input_error("--init ", path, ": no initializer named '", e->name, "' (expected shape ",
                      shape_str(e->shape), "), and by order ", found, " (", r.by_name,
                      " tensors matched by name, ", r.by_order, " by order before it); ",
                      mismatch_hint(store, onnx));
  }
  for (; j < left.size(); ++j) r.unused.push_back(left[j]);
  return r;
}

}  // namespace qf
