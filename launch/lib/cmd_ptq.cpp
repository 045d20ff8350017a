// qforge ptq: static post-training quantization of an FP32 model into a QDQ int8 ONNX file.
//
//   qforge ptq --model fp32.onnx | --init CHECKPOINT  [--data.root DIR] --algo KL|hist|avg|mse|emd|
//              abs_max|KLQuantizer|HistQuantizer|AbsmaxQuantizer --batch-nums N --batch-size B
//              [--hist-percent P] [--bias-correction] [--weight-quantize-type channel_wise_abs_max|
//              abs_max] [--quantizable-op-type conv2d,depthwise_conv2d,mul] [--skip-tensor-list a,b]
//              [--fuse-conv-bn] [--report calibration.html] --out int8.onnx
//
// Steps (quant/ptq.h): optional Conv+BN folding, the plan, calibration on the first N batches of
// the calibration split (train by default) in order, weight quantization, the QDQ graph, export
// (io/onnx_export.h, opset 13). The thresholds go to --metrics-out as JSON when asked; --report
// also draws every activation's histogram with each static algorithm's threshold (all of them
// calibrated together, launch/lib/calibration_report.h); --ptq.histograms_out FILE (KL, hist)
// writes every activation's histogram of |x| with the thresholds KL, hist and abs_max derive from
// it ({"algo", "bins", "bits", "hist_percent", "tensors": [{"name", "lo", "hi", "counts": [...],
// "thresholds": {"KL", "hist", "abs_max"}}]}). Bad input
// (see quant/ptq.h and io/onnx_import.h) ends with one line and exit code 2 before anything is
// written; the ONNX file is written atomically.
//
// Under `mpirun -np N` the ranks split the calibration batches and merge their statistics
// (quant/ptq.h: the thresholds are those of one process over all the batches); rank 0 alone
// prints and writes the ONNX file and the metrics.
#include <filesystem>
#include <optional>

#include "io/atomic_file.h"
#include "io/onnx_export.h"
#include "launch/lib/calibration_report.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/model_source.h"
#include "launch/lib/quant_keys.h"
#include "launch/lib/rank_agreement.h"
#include "launch/lib/setup.h"
#include "quant/convert.h"
#include "quant/fuse_conv_bn.h"
#include "quant/ptq.h"

namespace qf {

namespace {

// --ptq.histograms_out: per calibrated activation, the histogram of |x| (bins over [lo, hi]) and
// the thresholds KL, hist (with the run's hist_percent) and abs_max derive from it.
nlohmann::json histogram_report(const std::map<std::string, CalibState>& states, const CalibConfig& c) {
  CalibConfig kl = c, hist = c;
  kl.algo = CalibAlgo::KL;
  hist.algo = CalibAlgo::hist;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& [name, s] : states)
    tensors.push_back({{"name", name},
                       {"lo", s.hist.lo},
                       {"hi", s.hist.hi},
                       {"counts", s.hist.counts},
                       {"thresholds",
                        {{"KL", calib_threshold(s, kl)},
                         {"hist", calib_threshold(s, hist)},
                         {"abs_max", s.abs_max}}}});
  return {{"algo", calib_algo_name(c.algo)}, {"dygraph", c.dygraph}, {"bins", c.bins},
          {"bits", c.bits}, {"hist_percent", c.hist_percent}, {"tensors", tensors}};
}

// The command line and its config: the run's keys, [ptq] and --report FILE (into `report`); the
// output files are checked (on rank 0, which writes them) before any work. Returns --model's file.
std::string parse_ptq_command(const Args& in_args, ConfigSchema& schema, RunConfig& c, PtqConfig& p,
                              std::string& report) {
  Args args = in_args;
  std::string model_file = take_model_file(args);
  bind_run_config(schema, c);
  bind_ptq_config(schema, p);
  schema.add("ptq.report", &report,
             "also write an HTML page with each activation's |x| histogram and the threshold every "
             "static algorithm gives it (slower: all algorithms calibrate together)");
  schema.alias("report", "ptq.report");
  describe_command(schema, "ptq");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("ptq: unexpected argument '", positional[0], "'");
  if (launch_env().world_rank == 0) {  // rank 0 writes
    if (!p.out.empty()) check_output_file(p.out, "ptq.out");
    if (!c.run.metrics_out.empty()) check_output_file(c.run.metrics_out, "run.metrics_out");
    if (!report.empty()) check_output_file(report, "ptq.report");
  }
  return model_file;
}

}  // namespace

int cmd_ptq(const Args& in_args) {
  ConfigSchema schema;
  RunConfig c;
  PtqConfig p;
  std::string report;
  const std::string model_file = parse_ptq_command(in_args, schema, c, p, report);
  Console console = Console::for_rank(launch_env().world_rank);
  LoadedModel m = load_model("ptq", model_file, schema, c, console);
  auto ctx = open_device(c.run, console);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;
  const auto data = open_dataset(c.data, p.calib_split, m.num_classes);
  check_data_fits(*data, m.sample_shape, m.source);
  RunFacts facts;
  facts.add_config("ptq", schema);
  facts.add_model(m.graph);
  facts.add_data("calibration set", *data);
  check_ranks_agree(comm, facts, c.dist.timeout_s);

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
  console.release();  // everything named is checked: calibration begins
  const CalibrationProgress progress{[&](const std::string& line) { console.progress(line); },
                                     [&] { console.end_progress(); }};
  std::map<std::string, CalibState> states;
  std::optional<CalibrationComparison> cmp;
  if (!report.empty()) cmp = calibrate_and_compare(m.graph, plan, p, *data, *ctx, progress, comm);
  const auto thresholds = cmp ? cmp->thresholds.at(p.algo)
                              : calibrate(m.graph, plan, p, *data, *ctx, progress, comm, &states);
  if (cmp) states = cmp->states;
  if (!comm.is_root()) return 0;  // rank 0 writes the model and the metrics
  if (!p.histograms_out.empty()) write_json_file(p.histograms_out, histogram_report(states, cc));
  QdqReport rep;
  const Graph qdq = build_qdq_graph(m.graph, plan, thresholds, p, &rep);
  const Graph out = inference_graph(qdq, graph_weights(qdq));
  const std::filesystem::path dir = std::filesystem::path(p.out).parent_path();
  if (!dir.empty()) create_output_folder(dir.string(), "ptq.out");
  export_onnx(out, p.out, {"qforge", "static post-training quantization (" + p.algo + ")",
                           m.from_onnx ? m.onnx.input_onnx_name : ""});  // keep the file's input name
  console.info(str_cat("ptq: wrote ", p.out, " (", std::filesystem::file_size(p.out), " bytes): ",
                       rep.quantized_ops, " int8 ops, ", rep.quantized_activations,
                       " quantized activations (", rep.activation_pairs,
                       " quantize/dequantize pairs, one per reading node), ", rep.int32_biases,
                       " int32 biases",
                       rep.clamped_biases ? str_cat(", ", rep.clamped_biases, " bias values clamped")
                                          : std::string()));
  if (cmp) {  // the path was checked at the start; its folders are made like --metrics-out's
    const std::filesystem::path folder = std::filesystem::path(report).parent_path();
    if (!folder.empty()) create_output_folder(folder.string(), "ptq.report");
    write_text_file_atomically(
        report, calibration_report_html(m.graph, plan, *cmp, m.source,
                                        str_cat(p.batch_nums, " x ", p.batch_size, " samples of ",
                                                data->describe())));
    console.info("ptq: calibration report -> " + report);
  }
  if (!c.run.metrics_out.empty()) {
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [name, v] : thresholds) t[name] = v;
    write_json_file(c.run.metrics_out, {{"algo", p.algo}, {"thresholds", t},
                                        {"quantized_ops", rep.quantized_ops}});
  }
  return 0;
}

}  // namespace qf
