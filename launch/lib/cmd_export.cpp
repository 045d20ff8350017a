// qforge export: writes any checkpoint as an ONNX model (opset 13).
//
//   qforge export --init CHECKPOINT --out model.onnx [--form int8|float_grid]
//   qforge export --init weights.onnx --model NAME [model keys] --out model.onnx
//
// An FP32 checkpoint (from `qforge train`), or an FP32 ONNX file's weights for the model the model
// keys describe, is exported as its float inference graph. A QAT
// checkpoint (from `qforge qat`; its saved configuration has a [quant] section) is rebuilt with the
// same quant_aware pass, loaded with its quantizer state and converted (quant/convert.h): the int8
// QDQ model by default, or the float model with weights on the int8 grid (--form float_grid).
#include <filesystem>

#include "io/onnx_export.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/model_source.h"
#include "launch/lib/onnx_weights.h"
#include "launch/lib/quant_setup.h"
#include "launch/lib/setup.h"

namespace qf {

namespace {

// --init FILE.onnx: the FP32 model of the model keys with the file's weights, exported.
int export_onnx_weights(ConfigSchema& schema, RunConfig& c) {
  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  const LoadedModel m = model_with_onnx_weights(schema, c, console);
  export_onnx(inference_graph(m.graph, graph_weights(m.graph)), c.run.out, {"qforge", "FP32 model"});
  console.info("export: " + c.run.init + " -> " + c.run.out + " (fp32, " +
               std::to_string(std::filesystem::file_size(c.run.out)) + " bytes)");
  return 0;
}

}  // namespace

int cmd_export(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  QuantSection q;
  std::string form = "int8";
  bind_run_config(schema, c);
  bind_quant_config(schema, q);
  schema.add("export.form", &form, "quant-aware checkpoints: int8 (QDQ) or float_grid",
             {"int8", "float_grid"});
  schema.alias("form", "export.form");
  describe_command(schema, "export");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("export: unexpected argument '", positional[0], "'");
  if (c.run.init.empty())
    throw_input_error(
        "export: say what to export with --init CHECKPOINT (a checkpoint directory "
        "or .safetensors file)");
  if (c.run.out.empty()) throw_input_error("export: say where to write with --out FILE.onnx");
  check_output_file(c.run.out, "run.out");
  if (is_onnx_path(c.run.init)) return export_onnx_weights(schema, c);
  const Checkpoint ck = load_checkpoint(c.run.init);
  adopt_checkpoint_model(schema, ck.config);
  const bool quantized = is_quant_checkpoint(ck);
  if (quantized) adopt_checkpoint_quant(schema, ck.config);
  apply_model_form(schema, c);
  schema.validate();
  if (!quantized) {
    for (const auto& [name, t] : ck.model)
      if (name.find("_quant.") != std::string::npos)
        throw_input_error("export: ", c.run.init, " holds quantizer state ('", name,
                          "') but no quantization config; export the checkpoint directory "
                          "written by `qforge qat` (its state.json has the config)");
  }

  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  auto ctx = make_context(Device::cpu(), c.run.threads);
  Graph g = build_model(c.model);
  QuantAwareReport rep;
  if (quantized) rep = quant_aware(g, q.config);
  ParamStore store(g, *ctx, c.train.seed);
  load_quant_weights(store, ck, c.run.init, rep, false, console);
  const TensorMap state = store.state_dict();
  const ConvertForm cf = form == "int8" ? ConvertForm::int8 : ConvertForm::float_grid;
  Graph out = quantized ? convert(g, state, cf) : inference_graph(g, state);
  export_onnx(out, c.run.out, {"qforge", quantized ? quant_export_doc(cf) : "FP32 model"});
  console.info("export: " + c.run.init + " -> " + c.run.out + " (" +
               (quantized ? form : std::string("fp32")) + ", " +
               std::to_string(std::filesystem::file_size(c.run.out)) + " bytes)");
  return 0;
}

}  // namespace qf
