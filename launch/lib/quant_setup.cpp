#include "launch/lib/quant_setup.h"

#include <filesystem>
#include <set>

#include "io/onnx_export.h"
#include "launch/lib/run_config.h"

namespace qf {

bool is_quant_checkpoint(const Checkpoint& ck) {
  return ck.config.is_object() && ck.config.contains("quant.weight_quantize_type");
}

void adopt_checkpoint_quant(ConfigSchema& s, const nlohmann::json& saved) {
  if (!saved.is_object()) return;
  for (const auto& item : saved.items()) {
    const std::string& key = item.key();
    if (key.rfind("quant.", 0) != 0 || !s.has(key) || s.was_set(key)) continue;
    // quantize_op_types holds the resolved op list; its dygraph twin would only restate it.
    if (key == "quant.quantizable_layer_type") continue;
    adopt_saved_key(s, saved, key);
  }
}

void load_quant_weights(ParamStore& store, const Checkpoint& ck, const std::string& path,
                        const QuantAwareReport& report, bool fresh_quant_state, Console& console) {
  const ParamStore::LoadReport r = store.load_state_dict(ck.model);
  const std::set<std::string> state(report.state.begin(), report.state.end());
  std::vector<std::string> missing;
  int fresh = 0;
  for (const std::string& name : r.missing) {
    if (fresh_quant_state && state.count(name)) {
      ++fresh;
      continue;
    }
    missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 6; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 6) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw_input_error("--init ", path, ": missing tensors ", list,
                      fresh_quant_state ? "" : " (is it a checkpoint of `qforge qat`?)");
  }
  std::string msg =
      "init: loaded " + std::to_string(ck.model.size() - r.unused.size()) + " tensors from " + path;
  if (fresh) msg += "; " + std::to_string(fresh) + " quantizer tensors start fresh";
  if (!r.unused.empty())
    msg += " (" + std::to_string(r.unused.size()) + " unused, e.g. " + r.unused[0] + ")";
  console.info(msg);
}

std::string quant_export_doc(ConvertForm form) {
  return form == ConvertForm::int8
             ? "quant-aware model, int8 QDQ"
             : "quant-aware model, simulated in float (weights on the int8 grid)";
}

QuantExports write_quant_exports(const Graph& qat, const TensorMap& state,
                                 const std::string& prefix) {
  QuantExports e;
  e.float_grid_path = prefix + "_float_grid.onnx";
  e.int8_path = prefix + "_int8.onnx";
  const std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  export_onnx(convert(qat, state, ConvertForm::float_grid), e.float_grid_path,
              {"qforge", quant_export_doc(ConvertForm::float_grid)});
  export_onnx(convert(qat, state, ConvertForm::int8, &e.int8_report), e.int8_path,
              {"qforge", quant_export_doc(ConvertForm::int8)});
  e.float_grid_bytes = std::filesystem::file_size(e.float_grid_path);
  e.int8_bytes = std::filesystem::file_size(e.int8_path);
  return e;
}

}  // namespace qf
