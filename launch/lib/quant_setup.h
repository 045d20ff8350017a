// Pieces the quantization commands share (qat, export): rebuilding a quant-aware graph from a
// checkpoint's saved configuration, loading FP32 or QAT weights into it, and writing the converted
// ONNX models.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "launch/lib/config_schema.h"
#include "launch/lib/quant_keys.h"
#include "nn/param_store.h"
#include "quant/convert.h"
#include "quant/quant_aware.h"
#include "trainer/checkpoint.h"
#include "trainer/console.h"

namespace qf {

// True when the checkpoint was written by `qforge qat` (its configuration has a [quant] section).
bool is_quant_checkpoint(const Checkpoint& ck);

// Takes every quant.* key from a checkpoint's saved configuration unless this command line set it
// (quantize_op_types holds the resolved list, so quantizable_layer_type is not taken).
void adopt_checkpoint_quant(ConfigSchema& schema, const nlohmann::json& saved);

// Loads `ck` into a quant-aware store. Every tensor of the model must be present; quantizer state
// (the names in `report.state`) may be missing only when `fresh_quant_state` (QAT starting from an
// FP32 checkpoint), and then starts from the pass's initial values. InputError otherwise.
void load_quant_weights(ParamStore& store, const Checkpoint& ck, const std::string& path,
                        const QuantAwareReport& report, bool fresh_quant_state, Console& console);

// The doc string an exported converted model carries.
std::string quant_export_doc(ConvertForm form);

struct QuantExports {
  std::string float_grid_path, int8_path;
  size_t float_grid_bytes = 0, int8_bytes = 0;
  ConvertReport int8_report;
};

// Converts `qat` with `state` into both forms and writes <prefix>_float_grid.onnx and
// <prefix>_int8.onnx.
QuantExports write_quant_exports(const Graph& qat, const TensorMap& state,
                                 const std::string& prefix);

}  // namespace qf
