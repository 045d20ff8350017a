// Where a command's model comes from, for the commands that take an ONNX file or a checkpoint
// (eval, bench, infer, ptq, ptq-dynamic):
//   --model FILE.onnx         an ONNX file (FP32 or QDQ int8), imported with io/onnx_import.h;
//                             `--model` is also the model-name alias (`--model mobilenet_v1`): a
//                             value ending in ".onnx" or naming an existing file is a file
//   --init CHECKPOINT         a qforge checkpoint directory or .safetensors, the model rebuilt from
//                             the model keys (the checkpoint's saved configuration when it has one)
//   --init FILE.onnx          an FP32 ONNX file's weights for the model the model keys describe
//                             (matched by name, then by order and shape: launch/lib/onnx_weights.h)
// The loaded graph carries its weights (Init::from on every parameter and buffer), has the logits
// as output 0, and no loss.
#pragma once

#include <optional>
#include <string>

#include "data/dataset.h"
#include "io/onnx_import.h"
#include "launch/lib/run_config.h"
#include "trainer/console.h"

namespace qf {

// Removes `--model FILE` / `--model=FILE` / `--model.name FILE` from `args` when FILE names a
// model file (ends in .onnx or exists), and returns FILE; else returns "" and leaves `args`.
std::string take_model_file(std::vector<std::string>& args);

struct LoadedModel {
  Graph graph;
  std::string source;             // the file or checkpoint, for messages
  bool from_onnx = false;
  OnnxImportInfo onnx;            // when from_onnx
  Shape sample_shape;             // (C, H, W) or (F) of one input sample
  int num_classes = 0;            // the logits' width
};

// Loads the model named by `model_file` (from take_model_file) or, when empty, by --init (the
// schema must be parsed; the checkpoint's configuration is adopted for keys not set). InputError
// when neither is given, naming `command`.
LoadedModel load_model(const std::string& command, const std::string& model_file,
                       ConfigSchema& schema, RunConfig& c, Console& console);

// --init FILE.onnx: the model of the model keys (--model NAME ...) with the weights of the ONNX
// file at c.run.init, baked into the graph.
LoadedModel model_with_onnx_weights(ConfigSchema& schema, RunConfig& c, Console& console);

// Replaces every parameter's and buffer's initialiser by the tensor of the same name in `state`
// (all must be present; InputError naming the first missing one).
void bake_weights(Graph& g, const std::map<std::string, Tensor>& state, const std::string& what);

// Every parameter and buffer of a graph that carries its weights, by name (what
// quant/convert.h's inference_graph freezes into constants).
std::map<std::string, Tensor> graph_weights(const Graph& g);

// InputError unless the dataset's samples have the model's input shape.
void check_data_fits(const Dataset& data, const Shape& sample, const std::string& model);

}  // namespace qf
