// The qforge subcommands. Each takes the arguments after its name and returns the exit code;
// InputError escapes to main, which prints it as one line and exits with 2.
#pragma once

#include <string>
#include <vector>

namespace qf {

using Args = std::vector<std::string>;

int cmd_train(const Args& args);    // train a model (FP32)
int cmd_eval(const Args& args);     // evaluate a checkpoint on the test split
int cmd_summary(const Args& args);  // per-layer shapes, parameters, multiply-adds
int cmd_qat(const Args& args);      // quant-aware training, then int8 export
int cmd_export(const Args& args);   // a checkpoint as ONNX
int cmd_infer(const Args& args);    // run a model on raw float32 tensors (interop checks)
int cmd_ptq(const Args& args);      // static post-training quantization -> QDQ int8 ONNX
int cmd_ptq_dynamic(const Args& args);  // weight-only int8 / int16 quantization
int cmd_bench(const Args& args);    // inference speed and peak memory

}  // namespace qf
