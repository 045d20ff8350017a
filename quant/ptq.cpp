// Static post-training quantization (contract in quant/ptq.h).
#include "quant/ptq.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "data/loader.h"
#include "nn/communicator.h"
#include "nn/executor.h"
#include "nn/param_store.h"
#include "quant/quant_aware.h"

namespace qf {
namespace {

const Tensor* weight_data(const Graph& g, int v) {
  if (v < 0) return nullptr;
  const Value& val = g.value(v);
  if (val.kind != ValueKind::param && val.kind != ValueKind::constant) return nullptr;
  if (val.init.kind != Init::Kind::data || !val.init.data.defined() || val.dtype != DType::f32)
    return nullptr;
  return &val.init.data;
}

// A CalibState as doubles, for the cross-rank merge: batches, abs_min, abs_max, avg_sum,
// best_loss, best_threshold, hist.lo, hist.hi, the bin count, then the bins. Every field converts
// to double and back exactly (floats, integers below 2^53).
constexpr size_t kPackedHeader = 9;

void pack_state(const CalibState& s, double* out) {
  const double head[kPackedHeader] = {static_cast<double>(s.batches), s.abs_min, s.abs_max,
                                      s.avg_sum, s.best_loss, s.best_threshold, s.hist.lo,
                                      s.hist.hi, static_cast<double>(s.hist.counts.size())};
  std::copy(head, head + kPackedHeader, out);
  std::copy(s.hist.counts.begin(), s.hist.counts.end(), out + kPackedHeader);
}

CalibState unpack_state(const double* in) {
  CalibState s;
  s.batches = static_cast<int64_t>(in[0]);
  s.abs_min = static_cast<float>(in[1]);
  s.abs_max = static_cast<float>(in[2]);
  s.avg_sum = in[3];
  s.best_loss = in[4];
  s.best_threshold = in[5];
  s.hist.lo = in[6];
  s.hist.hi = in[7];
  s.hist.counts.assign(in + kPackedHeader, in + kPackedHeader + static_cast<size_t>(in[8]));
  return s;
}

}  // namespace

PtqPlan plan_ptq(const Graph& g, const PtqConfig& c) {
  for (const Node& n : g.nodes())
    if (n.op == "quantize_linear" || n.op == "dequantize_linear")
      throw_input_error("ptq: the model is already quantized (node '", n.name, "' is ", n.op,
                        "); give the FP32 model");
  for (const std::string& t : c.skip_tensor_list)
    if (g.find_value(t) < 0)
      throw_input_error("ptq.skip_tensor_list: the model has no tensor '", t, "'");
  const std::set<std::string> skip(c.skip_tensor_list.begin(), c.skip_tensor_list.end());
  const std::set<std::string> types(c.quantizable_op_type.begin(), c.quantizable_op_type.end());
  PtqPlan p;
  std::set<int> acts;
  for (const Node& n : g.nodes()) {
    const std::string t = paddle_op_type(g, n);
    if (t.empty() || !types.count(t)) continue;
    std::string why;
    for (int v : n.inputs)
      if (v >= 0 && skip.count(g.value(v).name)) why = "reads '" + g.value(v).name + "' of skip_tensor_list";
    if (why.empty() && !weight_data(g, n.inputs[1])) why = "its weight is computed, not a float32 weight";
    if (why.empty() && g.value(n.inputs[0]).dtype != DType::f32) why = "its input is not float32";
    if (!why.empty()) {
      p.skipped.push_back(n.name + ": " + why);
      continue;
    }
    p.nodes.push_back(n.name);
    p.types.push_back(t);
    acts.insert(n.inputs[0]);
    acts.insert(n.outputs[0]);
  }
  if (p.nodes.empty())
    throw_input_error("ptq: nothing to quantize (no ", [&] {
      std::string s;
      for (const auto& t : c.quantizable_op_type) s += (s.empty() ? "" : ", ") + t;
      return s;
    }(), " op with a float32 weight outside skip_tensor_list)");
  for (int v : acts) p.activations.push_back(g.value(v).name);  // value ids are in graph order
  return p;
}

Calibrator::Calibrator(const Graph& g, const PtqPlan& plan, const CalibConfig& c) : config_(c) {
  const auto prod = g.producers();
  for (const std::string& a : plan.activations) {
    states_[a];
    const int p = prod[g.value_id(a)];
    producer_[a] = p >= 0 ? "node '" + g.nodes()[p].name + "'" : "the graph input";
  }
}

void Calibrator::observe_one(const std::string& name, const Tensor& t, int64_t batch,
                             int64_t samples, bool range_pass) {
  const float* x = t.data<float>();
  const int64_t n = t.numel();
  bool finite = true;
#pragma omp parallel for reduction(&& : finite) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) finite = finite && std::isfinite(x[i]);
  if (!finite)
    throw_input_error("ptq: activation '", name, "' (output of ", producer_.at(name),
                      ") holds NaN or infinity in calibration batch ", batch,
                      "; the model or the data is broken");
  CalibState& s = states_.at(name);
  if (range_pass)
    observe_range(s, x, n);
  else
    qf::observe(s, config_, x, n, samples);
}

void Calibrator::start_histograms() {
  for (auto& [name, s] : states_) start_histogram(s, config_);
}

void Calibrator::merge_ranks(Communicator& comm) {
  const int W = comm.size();
  if (W == 1) return;
  // Per activation, the longest packed state of any rank (histograms may be empty on some).
  std::vector<double> len;
  for (const auto& [name, s] : states_) len.push_back(static_cast<double>(kPackedHeader + s.hist.counts.size()));
  comm.all_reduce_max_host(len.data(), len.size());
  size_t i = 0;
  for (auto& [name, s] : states_) {
    // An all-gather as a sum: each rank fills its own slot, zeros elsewhere; x + 0 = x exactly.
    const size_t L = static_cast<size_t>(len[i++]);
    std::vector<double> all(static_cast<size_t>(W) * L, 0.0);
    pack_state(s, all.data() + static_cast<size_t>(comm.rank()) * L);
    comm.all_reduce_sum_host(all.data(), all.size());
    CalibState merged = unpack_state(all.data());
    for (int r = 1; r < W; ++r) merged.merge(unpack_state(all.data() + static_cast<size_t>(r) * L), config_);
    s = std::move(merged);
  }
}

std::map<std::string, double> Calibrator::thresholds() const {
  std::map<std::string, double> t;
  for (const auto& [name, s] : states_) t[name] = calib_threshold(s, config_);
  return t;
}

void run_calibration(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                     const std::vector<Calibrator*>& calibrators, const Dataset& data,
                     DeviceContext& ctx, const CalibrationProgress& progress, Communicator& comm) {
  const int64_t need = c.batch_nums * c.batch_size;
  if (data.size() == 0)
    throw_input_error("ptq: the calibration set (", data.describe(), ") is empty");
  if (data.size() < need)
    throw_input_error("ptq: batch_nums ", c.batch_nums, " x batch_size ", c.batch_size, " needs ",
                      need, " samples; the calibration set (", data.describe(), ") has ",
                      data.size());
  ParamStore store(g, ctx, 0);
  ExecOptions eo;
  eo.training = false;
  eo.outputs = plan.activations;
  Executor ex(g, store, ctx, eo);
  ex.prepare(c.batch_size);
  SequentialSampler sampler(data.size());
  LoaderOptions lo;
  lo.batch_size = c.batch_size;
  lo.drop_last = true;
  DataLoader loader(data, sampler, lo);
  std::map<std::string, Tensor> host;
  auto tensor_of = [&](const std::string& name) -> const Tensor& {
    const Tensor& t = ex.tensor(name);
    if (t.device().is_cpu()) return t;
    Tensor& h = host[name];
    if (!h.defined()) h = Tensor::empty(t.shape(), t.dtype());
    ctx.copy(h, t);
    return h;
  };
  // This rank's share: batches [first, last), contiguous blocks in rank order, so that merging the
  // ranks' states in rank order sees the batches in one process's order.
  const int64_t first = c.batch_nums * comm.rank() / comm.size();
  const int64_t last = c.batch_nums * (comm.rank() + 1) / comm.size();
  bool two_pass = false;
  for (const Calibrator* cal : calibrators) two_pass = two_pass || cal->two_pass();
  const int passes = two_pass ? 2 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    // Pass 1 is the range pass of the two-pass calibrators and the only pass of the others;
    // pass 2 the histogram pass of the two-pass ones.
    std::vector<Calibrator*> active;
    for (Calibrator* cal : calibrators)
      if (pass == 0 || cal->two_pass()) active.push_back(cal);
    loader.start_epoch(0, first);
    Batch b;
    for (int64_t k = first; k < last; ++k) {
      QF_CHECK(loader.next(b), "calibration ran out of batches");
      ex.set_input("image", b.images);
      ex.forward(Mode::eval);
      for (Calibrator* cal : active)
        cal->observe(tensor_of, k, b.size, cal->two_pass() && pass == 0);
      if (progress.batch_done)
        progress.batch_done(str_cat("calibration pass ", pass + 1, "/", passes, ": batch ",
                                    k - first + 1, "/", last - first,
                                    comm.size() > 1
                                        ? str_cat(" (this rank's share of ", c.batch_nums, ")")
                                        : std::string()));
    }
    if (progress.pass_done) progress.pass_done();
    // Two-pass: the histograms of all ranks must cover the same range, so the ranges are merged
    // before the histogram pass.
    for (Calibrator* cal : active) {
      cal->merge_ranks(comm);
      if (cal->two_pass() && pass == 0) cal->start_histograms();
    }
  }
}

std::map<std::string, double> calibrate(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                                        const Dataset& data, DeviceContext& ctx,
                                        const CalibrationProgress& progress, Communicator& comm,
                                        std::map<std::string, CalibState>* states) {
  Calibrator cal(g, plan, c.calib());
  run_calibration(g, plan, c, {&cal}, data, ctx, progress, comm);
  if (states) *states = cal.states();
  return cal.thresholds();
}

QuantizedWeight quantize_weight(const Tensor& w, bool per_channel, int bits, bool bias_correction) {
  const double bnt = static_cast<double>((1 << (bits - 1)) - 1);
  const int64_t K = per_channel ? w.dim(0) : 1, per = w.numel() / K;
  const float* x = w.data<float>();
  QuantizedWeight r;
  r.q = Tensor::empty(w.shape(), bits == 8 ? DType::i8 : DType::i16);
  std::vector<double> qv(w.numel());
  for (int64_t k = 0; k < K; ++k) {
    float m = 0;
    for (int64_t j = 0; j < per; ++j) m = std::max(m, std::fabs(x[k * per + j]));
    r.thresholds.push_back(m);
    const double T = m == 0 ? 1e-8 : m;
    auto quant = [&](double v) { return std::clamp(std::nearbyint(v / T * bnt), -bnt - 1, bnt); };
    for (int64_t j = 0; j < per; ++j) qv[k * per + j] = quant(x[k * per + j]);
    if (bias_correction) {  // Banner et al. (docs/quantization.md, "Bias correction")
      double mw = 0, mq = 0;
      for (int64_t j = 0; j < per; ++j) {
        mw += x[k * per + j];
        mq += qv[k * per + j] * T / bnt;
      }
      mw /= static_cast<double>(per);
      mq /= static_cast<double>(per);
      double vw = 0, vq = 0;
      for (int64_t j = 0; j < per; ++j) {
        vw += std::pow(x[k * per + j] - mw, 2);
        vq += std::pow(qv[k * per + j] * T / bnt - mq, 2);
      }
      const double mean_bias = mw - mq;
      const double std_ratio = std::sqrt(vw / per) / (std::sqrt(vq / per) + 1e-8);
      for (int64_t j = 0; j < per; ++j)
        qv[k * per + j] = quant((qv[k * per + j] * T / bnt + mean_bias) * std_ratio);
    }
  }
  for (int64_t i = 0; i < w.numel(); ++i) {
    if (bits == 8)
      r.q.data<int8_t>()[i] = static_cast<int8_t>(qv[i]);
    else
      r.q.data<int16_t>()[i] = static_cast<int16_t>(qv[i]);
  }
  return r;
}

namespace {

// Builds the QDQ graph (build_qdq_graph): walks the source nodes in order and re-emits them,
// quantizing each planned op's input, weight and bias, and its output unless that is a graph
// output. Every node reading a quantized activation reads it through a QuantizeLinear ->
// DequantizeLinear pair of its own, placed right before it, with its own zero-point constant:
// ONNX Runtime fuses DequantizeLinear -> Conv -> QuantizeLinear into an int8 convolution only when
// each DequantizeLinear feeds that convolution alone, and it converts int8 pairs to uint8 (x86)
// only where a QuantizeLinear feeds one DequantizeLinear; pairs that share nothing survive its
// common-subexpression elimination (equal scalar float scales are merged, int8 zero points are
// not). So the input of a residual block read by two convolutions, or an Inception block's input
// read by four branches, keeps every convolution int8. A quantized op's output read by several
// nodes (MobileNetV2's projection conv, read by the next block's conv and its residual Add) first
// goes through one pair of its own (a conv fuses only with a single QuantizeLinear on its output),
// then through Clip(-FLT_MAX, FLT_MAX), the identity, whose output each reader's pair quantizes
// again with the same scale (exactly: the values are on that grid already). The Clip is there
// because ONNX Runtime gives every reader of a DequantizeLinear a copy of it, which would leave the
// conv's QuantizeLinear feeding several DequantizeLinear nodes and so unconverted, and the conv
// float; a float node between keeps one DequantizeLinear per QuantizeLinear. qforge's own int8
// lowering merges the equal quantizers again and fuses the identity into the conv's requantization
// (quant/int8_lowering.h).
class QdqBuilder {
 public:
  QdqBuilder(const Graph& src, const PtqPlan& plan, const std::map<std::string, double>& act_t,
             const PtqConfig& c)
      : g_(src), act_t_(act_t), c_(c), quantized_(plan.nodes.begin(), plan.nodes.end()) {
    const auto cons = src.consumers();
    readers_.resize(cons.size());
    for (size_t v = 0; v < cons.size(); ++v)
      readers_[v] = static_cast<int>(std::set<int>(cons[v].begin(), cons[v].end()).size());
  }

  Graph run(QdqReport& rep) {
    std::vector<Node> old = std::move(g_.nodes());
    g_.nodes().clear();
    for (Node n : old) {
      const int x = n.inputs[0];  // before any rewiring: the float value
      // Readers of a quantized op's output read their own pair.
      std::map<int, int> here;
      for (int& v : n.inputs)
        if (v >= 0 && quantized_outputs_.count(v))
          v = here.count(v) ? here[v] : (here[v] = qdq(v, n.name + ".input", quantized_outputs_.at(v)));
      if (!quantized_.count(n.name)) {
        g_.nodes().push_back(std::move(n));
        continue;
      }
      quantize_op(n, x);
      const int y = n.outputs[0];
      const std::string scope = n.name;
      g_.nodes().push_back(std::move(n));
      // The logits stay float: quantizing them to 255 levels only makes ties for the argmax (Paddle
      // records an output threshold there but quantizes nothing after the last op either).
      const auto& outs = g_.outputs();
      if (std::find(outs.begin(), outs.end(), y) == outs.end())
        quantized_outputs_[y] = readers_[y] > 1 ? fan_out(y, scope) : y;
      ++rep_.quantized_ops;
    }
    rep_.quantized_activations = static_cast<int>(scale_.size());
    g_.remove_unused_values();
    g_.validate();
    rep = rep_;
    return std::move(g_);
  }

 private:
  static constexpr double kBnt = 127.0;

  float step_of(const std::string& name) const {
    auto it = act_t_.find(name);
    QF_CHECK(it != act_t_.end(), "no threshold for '", name, "'");
    const double T = it->second > 0 ? it->second : 1e-8;
    return static_cast<float>(T / kBnt);
  }

  // A QuantizeLinear -> DequantizeLinear pair with activation v's scale, its nodes named after
  // `where` ("<reader>.input" or "<op>.output"), quantizing `source` (v itself, or the output of
  // v's own pair); the scale constant is one per activation, the zero point one per pair.
  int qdq(int v, const std::string& where, int source = -1) {
    const std::string name = g_.value(v).name;  // a copy: add_constant may move the values
    auto sit = scale_.find(v);
    if (sit == scale_.end())
      sit = scale_.emplace(v, g_.add_constant(name + ".scale", Tensor::from({}, {step_of(name)})))
                .first;
    const int s = sit->second;
    const int z = g_.add_constant(name + ".zero_point", Tensor::zeros({}, DType::i8));
    const int q = g_.add_activation(name + ".quantized");
    const int d = g_.add_activation(name + ".quantized.dequantized");
    g_.nodes().push_back({"quantize_linear",
                          g_.unique_node_name(where + ".quantize_linear"),
                          {source >= 0 ? source : v, s, z},
                          {q},
                          {}});
    g_.nodes().push_back({"dequantize_linear",
                          g_.unique_node_name(where + ".dequantize_linear"),
                          {q, s, z},
                          {d},
                          {}});
    ++rep_.activation_pairs;
    return d;
  }

  // y -> its own pair -> clip(-FLT_MAX, FLT_MAX): the value several readers' pairs quantize.
  int fan_out(int y, const std::string& scope) {
    const int d = qdq(y, scope + ".output");
    const int out = g_.add_activation(g_.value(y).name + ".fan_out");
    const double big = std::numeric_limits<float>::max();
    g_.nodes().push_back({"clip",
                          g_.unique_node_name(scope + ".fan_out"),
                          {d},
                          {out},
                          {{"min", -big}, {"max", big}}});
    return out;
  }

  // A constant `data` of `name` -> dequantize_linear (axis 0) with `scales` (one or per channel).
  // `name` is taken by value: callers pass a value's own name, and adding values reallocates them.
  int dequantized_constant(std::string name, const std::string& node, Tensor data,
                           const std::vector<float>& scales, DType zp_type) {
    const int64_t K = static_cast<int64_t>(scales.size());
    const Shape sshape = K == 1 && data.dtype() != DType::i32 ? Shape{} : Shape{K};
    const int q = g_.add_constant(name + ".quantized", std::move(data));
    const int s = g_.add_constant(name + ".scale", Tensor::from(sshape, scales));
    const int z = g_.add_constant(name + ".zero_point", Tensor::zeros(sshape, zp_type));
    const int d = g_.add_activation(name + ".dequantized");
    g_.nodes().push_back(
        {"dequantize_linear", g_.unique_node_name(node), {q, s, z}, {d}, {{"axis", int64_t{0}}}});
    return d;
  }

  // A planned op: its input through Q/DQ, its weight int8, its bias int32 at s_x s_w.
  void quantize_op(Node& n, int x) {
    const float sx = step_of(g_.value(x).name);
    if (!quantized_outputs_.count(x)) n.inputs[0] = qdq(x, n.name + ".input");  // else: done
    const QuantizedWeight qw = quantize_weight(*weight_data(g_, n.inputs[1]),
                                               c_.per_channel_weights, 8, c_.bias_correction);
    std::vector<float> sw;
    for (float t : qw.thresholds) sw.push_back(static_cast<float>((t > 0 ? t : 1e-8) / kBnt));
    n.inputs[1] = dequantized_constant(g_.value(n.inputs[1]).name,
                                       n.name + ".weight.dequantize_linear", qw.q, sw, DType::i8);
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) quantize_bias_input(n, sx, sw);
  }

  // A float bias as int32 with scale s_x * s_w (clamped to int32) -> DequantizeLinear.
  void quantize_bias_input(Node& n, float sx, const std::vector<float>& sw) {
    const Tensor* b = weight_data(g_, n.inputs[2]);
    if (!b) return;
    const int64_t nb = b->numel();
    Tensor bq = Tensor::empty({nb}, DType::i32);
    std::vector<float> sb(nb);
    for (int64_t k = 0; k < nb; ++k) {
      sb[k] = sx * sw[sw.size() == 1 ? 0 : k];
      const double v = std::nearbyint(static_cast<double>(b->data<float>()[k]) / sb[k]);
      const double lim = std::numeric_limits<int32_t>::max();
      rep_.clamped_biases += std::fabs(v) > lim;
      bq.data<int32_t>()[k] = static_cast<int32_t>(std::clamp(v, -lim, lim));
    }
    n.inputs[2] = dequantized_constant(g_.value(n.inputs[2]).name, n.name + ".bias.dequantize_linear", bq,
                                       sb, DType::i32);
    ++rep_.int32_biases;
  }

  Graph g_;
  const std::map<std::string, double>& act_t_;
  const PtqConfig& c_;
  std::set<std::string> quantized_;
  std::map<int, int> scale_;          // quantized activation -> its scale constant
  std::map<int, int> quantized_outputs_;  // quantized op output -> what readers' pairs quantize
  std::vector<int> readers_;              // per value: how many nodes of the source read it
  QdqReport rep_;
};

}  // namespace

Graph build_qdq_graph(const Graph& src, const PtqPlan& plan, const std::map<std::string, double>& act_t,
                      const PtqConfig& c, QdqReport* report) {
  QdqReport local;
  return QdqBuilder(src, plan, act_t, c).run(report ? *report : local);
}

}  // namespace qf
