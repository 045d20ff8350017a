// The quantization keys of the run configuration, bound to typed config structs: [quant] (quant-
// aware training, quant/quant_config.h), [ptq] (static post-training quantization) and
// [ptq_dynamic] (weight-only), PaddleSlim's keys with its names for the values.
//
// Each key is parsed, translated (a quantizer name into its QuantizerType, PACT into a flag) and
// validated here, once, when it is set; rules across keys run at schema.validate(). The passes in
// quant/ take the structs as they come. How a key reaches a kernel: docs/architecture.md.
#pragma once

#include <string>
#include <vector>

#include "launch/lib/config_schema.h"
#include "quant/ptq_config.h"
#include "quant/quant_config.h"

namespace qf {

// [quant]: the pass's config plus the keys that only say the same thing in other words.
struct QuantSection {
  QuantConfig config;
  std::string dtype = "int8";  // the only quantized type
  // The dygraph API's twin of quantize_op_types; resolved into config.quantize_op_types.
  std::vector<std::string> quantizable_layer_type{"Conv2D", "Linear"};
};

// Binds every quant.* key. At validate(): quantize_op_types and quantizable_layer_type must agree
// when both are set; the resolved op list is what config.quantize_op_types (and the saved
// configuration) holds.
void bind_quant_config(ConfigSchema& schema, QuantSection& q);

// Binds the [ptq] keys and the command's dashed aliases (--algo, --batch-nums, --batch-size,
// --hist-percent, --bins, --upsample-bins, --bias-correction, --weight-quantize-type,
// --quantizable-op-type, --skip-tensor-list, --fuse-conv-bn, --out).
void bind_ptq_config(ConfigSchema& schema, PtqConfig& c);
// [ptq_dynamic] and its aliases (--weight-bits, --weight-quantize-type, --quantizable-op-type,
// --generate-test-model, --out).
void bind_dynamic_quant_config(ConfigSchema& schema, DynamicQuantConfig& c);

}  // namespace qf
