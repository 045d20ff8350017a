// qforge ptq: static post-training quantization of an FP32 model into a QDQ int8 ONNX file.
//
//   qforge ptq --model fp32.onnx | --init CHECKPOINT  [--data.root DIR] --algo KL|hist|avg|mse|emd|
//              abs_max|KLQuantizer|HistQuantizer|AbsmaxQuantizer --batch-nums N --batch-size B
//              [--hist-percent P] [--bias-correction] [--weight-quantize-type channel_wise_abs_max|
//              abs_max] [--quantizable-op-type conv2d,depthwise_conv2d,mul] [--skip-tensor-list a,b]
//              [--fuse-conv-bn] --out int8.onnx
//
// Steps (quant/ptq.h): optional Conv+BN folding, the plan, calibration on the first N batches of
// the calibration split (train by default) in order, weight quantization, the QDQ graph, export
// (io/onnx_export.h, opset 13). The thresholds go to --metrics-out as JSON when asked. Bad input
// (see quant/ptq.h and io/onnx_import.h) ends with one line and exit code 2 before anything is
// written; the ONNX file is written atomically.
//
// Under `mpirun -np N` the ranks split the calibration batches and merge their statistics
// (quant/ptq.h: the thresholds are those of one process over all the batches); rank 0 alone
// prints and writes the ONNX file and the metrics.
#include <filesystem>

#include "io/onnx_export.h"
#include "launch/lib/commands.h"
#include "launch/lib/model_source.h"
#include "launch/lib/quant_keys.h"
#include "launch/lib/setup.h"
#include "quant/convert.h"
#include "quant/fuse_conv_bn.h"
#include "quant/ptq.h"

namespace qf {

int cmd_ptq(const Args& in_args) {
  Args args = in_args;
  const std::string model_file = take_model_file(args);
  ConfigSchema schema;
  RunConfig c;
  PtqConfig p;
  bind_run_config(schema, c);
  bind_ptq_config(schema, p);
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("ptq: unexpected argument '", positional[0], "'");
  Console console = Console::for_rank(launch_env().world_rank);
  LoadedModel m = load_model("ptq", model_file, schema, c, console);
  auto ctx = open_device(c.run, console);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;
  const auto data = open_dataset(c.data, p.calib_split, m.num_classes);
  check_data_fits(*data, m.sample_shape, m.source);

  if (p.fuse_conv_bn) console.info(str_cat("fuse_conv_bn: folded ", fuse_conv_bn(m.graph), " BatchNorms"));
  const PtqPlan plan = plan_ptq(m.graph, p);
  const CalibConfig cc = p.calib();
  console.info(str_cat("ptq: ", plan.nodes.size(), " ops to quantize, ", plan.activations.size(),
                       " activations to calibrate with ", calib_algo_name(cc.algo),
                       cc.dygraph ? " (dygraph quantizer)" : "", " on ", p.batch_nums, " x ",
                       p.batch_size, " samples of ", data->describe(),
                       comm.size() > 1 ? str_cat(", the batches split over ", comm.size(), " ranks (",
                                                 comm.backend(), ")")
                                       : std::string()));
  for (const std::string& s : plan.skipped) console.info("ptq: left in float: " + s);
  if (comm.size() > 1 && cc.dygraph)
    console.info(str_cat("ptq: ", p.algo, " merges the ranks' histograms by re-binning them onto ",
                         "a common range: its thresholds come close to one process's but are not ",
                         "equal (those of KL, hist, abs_max, mse and emd are; avg's to rounding)"));
  const CalibrationProgress progress{[&](const std::string& line) { console.progress(line); },
                                     [&] { console.end_progress(); }};
  const auto thresholds = calibrate(m.graph, plan, p, *data, *ctx, progress, comm);
  if (!comm.is_root()) return 0;  // rank 0 writes the model and the metrics
  QdqReport rep;
  const Graph qdq = build_qdq_graph(m.graph, plan, thresholds, p, &rep);
  const Graph out = inference_graph(qdq, graph_weights(qdq));
  const std::filesystem::path dir = std::filesystem::path(p.out).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  export_onnx(out, p.out, {"qforge", "static post-training quantization (" + p.algo + ")"});
  console.info(str_cat("ptq: wrote ", p.out, " (", std::filesystem::file_size(p.out), " bytes): ",
                       rep.quantized_ops, " int8 ops, ", rep.activation_pairs,
                       " quantize/dequantize pairs, ", rep.int32_biases, " int32 biases",
                       rep.clamped_biases ? str_cat(", ", rep.clamped_biases, " bias values clamped")
                                          : std::string()));
  if (!c.run.metrics_out.empty()) {
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [name, v] : thresholds) t[name] = v;
    write_json_file(c.run.metrics_out, {{"algo", p.algo}, {"thresholds", t},
                                        {"quantized_ops", rep.quantized_ops}});
  }
  return 0;
}

}  // namespace qf
