// qforge ptq-dynamic: weight-only quantization (quant/dynamic_quant.h).
//
//   qforge ptq-dynamic --model fp32.onnx | --init CHECKPOINT --weight-bits 8|16
//                      [--weight-quantize-type channel_wise_abs_max|abs_max]
//                      [--quantizable-op-type conv2d,mul] [--generate-test-model] --out DIR
//
// Writes DIR/quantized_model/model.onnx (int8 or int16 weights) and, with --generate-test-model,
// DIR/test_model/model.onnx (the dequantized float weights) — PaddleSlim's directory layout, with
// ONNX files in place of Paddle's program files. Each file is written atomically.
#include <onnx/onnx_pb.h>

#include <filesystem>

#include "io/onnx_export.h"
#include "io/onnx_file.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/model_source.h"
#include "launch/lib/quant_keys.h"
#include "launch/lib/setup.h"
#include "quant/convert.h"
#include "quant/dynamic_quant.h"

namespace qf {
namespace {

// Every folder and file the command writes, before anything is read (launch/lib/output_paths.h).
void check_dynamic_outputs(const DynamicQuantConfig& d) {
  const std::string key = "ptq_dynamic.out";
  check_output_folder(d.out, key);
  check_output_folder(d.out + "/quantized_model", key);
  check_output_file(d.out + "/quantized_model/model.onnx", key);
  if (!d.generate_test_model) return;
  check_output_folder(d.out + "/test_model", key);
  check_output_file(d.out + "/test_model/model.onnx", key);
}

}  // namespace

int cmd_ptq_dynamic(const Args& in_args) {
  Args args = in_args;
  const std::string model_file = take_model_file(args);
  ConfigSchema schema;
  RunConfig c;
  DynamicQuantConfig d;
  bind_run_config(schema, c);
  bind_dynamic_quant_config(schema, d);
  describe_command(schema, "ptq-dynamic");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("ptq-dynamic: unexpected argument '", positional[0], "'");
  if (!d.out.empty()) check_dynamic_outputs(d);
  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  LoadedModel m = load_model("ptq-dynamic", model_file, schema, c, console);
  for (const Node& n : m.graph.nodes())
    if (n.op == "quantize_linear" || n.op == "dequantize_linear")
      throw_input_error("ptq-dynamic: the model is already quantized (node '", n.name, "' is ", n.op,
                        "); give the FP32 model");
  // Build everything before writing anything.
  DynamicQuantReport rep;
  const Graph q = quantize_weights_dynamic(m.graph, d, false, &rep);
  const Graph qi = inference_graph(q, graph_weights(q));
  Graph ti;
  if (d.generate_test_model) {
    const Graph t = quantize_weights_dynamic(m.graph, d, true);
    ti = inference_graph(t, graph_weights(t));
  }
  const std::string doc = str_cat("weight-only quantization: int", d.weight_bits, " ",
                                  d.per_channel ? "channel_wise_abs_max" : "abs_max");
  onnx::ModelProto qmodel, tmodel;
  const std::string input = m.from_onnx ? m.onnx.input_onnx_name : "";  // keep the file's name
  build_onnx_model(qi, qmodel, {"qforge", doc, input});
  if (d.generate_test_model)
    build_onnx_model(ti, tmodel, {"qforge", doc + " (dequantized test model)", input});
  const std::filesystem::path root(d.out);
  create_output_folder((root / "quantized_model").string(), "ptq_dynamic.out");
  if (d.generate_test_model)
    create_output_folder((root / "test_model").string(), "ptq_dynamic.out");
  const std::string qpath = (root / "quantized_model" / "model.onnx").string();
  write_onnx_model(qpath, qmodel);
  console.info(str_cat("ptq-dynamic: ", rep.weights, " weights (", rep.quantized_values, " values) as int",
                       d.weight_bits, " -> ", qpath, " (", std::filesystem::file_size(qpath), " bytes)"));
  if (d.generate_test_model) {
    const std::string tpath = (root / "test_model" / "model.onnx").string();
    write_onnx_model(tpath, tmodel);
    console.info(str_cat("ptq-dynamic: test model -> ", tpath, " (", std::filesystem::file_size(tpath),
                         " bytes)"));
  }
  return 0;
}

}  // namespace qf
