#include "launch/lib/inference.h"

#include "nn/kernels/cpu/nhwc_transpose.h"
#include "nn/param_store.h"
#include "quant/inference_fusion.h"
#include "quant/int8_lowering.h"

namespace qf {

void bind_inference_options(ConfigSchema& schema, InferenceOptions& o) {
  schema.add("run.int8", &o.int8,
             "run QDQ (int8) models on the int8 kernels; false runs their Q/DQ ops as written");
  schema.add("run.fuse", &o.fuse,
             "inference on the CPU: fold BatchNorm into convolutions and run residual adds and "
             "activations inside them (false: every op as the model writes it)");
  schema.add("run.fuse_blocks", &o.fuse_blocks,
             "inference on the CPU, with run.fuse: each expand -> depthwise -> project chain "
             "(MobileNetV2's block) as one op run strip by strip (false: three convolutions)");
  schema.add("run.winograd", &o.winograd,
             "inference on the CPU: dense 3x3 stride-1 convolutions on Winograd (fewer "
             "multiplications, a slightly larger rounding error; false: direct)");
  schema.alias("int8", "run.int8");
  schema.alias("fuse", "run.fuse");
  schema.alias("fuse-blocks", "run.fuse_blocks");
  schema.alias("winograd", "run.winograd");
}

namespace {

int lower_qdq(Graph& g, const InferenceOptions& o, Console& console) {
  bool has_qdq = false;
  for (const Node& n : g.nodes()) has_qdq = has_qdq || n.op == "dequantize_linear";
  if (!has_qdq) return 0;
  if (!o.int8) {
    console.info("int8: off (--int8 false): Q/DQ ops run as written, compute in float");
    return 0;
  }
  const Int8LoweringReport r = lower_to_int8(g);
  console.info(str_cat("int8: ", r.int8_ops, " convolutions / matmuls on int8 kernels (", r.fused_outputs,
                       " with requantized int8 outputs, ", r.float_ops, " quantized ops left in float",
                       r.float_ops ? ": " + r.why_float : std::string(), ")"));
  return r.int8_ops;
}

}  // namespace

int prepare_inference_graph(Graph& g, const InferenceOptions& o, const DeviceContext& ctx,
                            Console& console) {
  const int int8_ops = lower_qdq(g, o, console);
  const bool cpu = ctx.kernel_kind() == KernelKind::cpu || ctx.kernel_kind() == KernelKind::cpu_ref;
  if (!cpu) return int8_ops;
  if (o.fuse) {
    const InferenceFusionReport r = fuse_for_inference(g, o.fuse_blocks);
    if (r.batch_norms + r.residual_adds + r.activations > 0)
      console.info(str_cat("fused: ", r.batch_norms, " BatchNorms, ", r.residual_adds,
                           " residual adds and ", r.activations,
                           " activations into convolutions (--fuse false: unfused)"));
    if (r.inverted_residuals > 0)
      console.info(str_cat("fused: ", r.inverted_residuals,
                           " expand -> depthwise -> project blocks run strip by strip "
                           "(--fuse-blocks false: three convolutions each)"));
    if (r.dequantize_adds > 0)
      console.info(str_cat("fused: ", r.dequantize_adds,
                           " dequantize -> add (-> relu) chains (--fuse false: unfused)"));
  }
  if (o.winograd) {
    const int n = choose_winograd(g);
    if (n > 0)
      console.info(str_cat("winograd: ", n, " 3x3 convolutions (--winograd false: direct)"));
  }
  return int8_ops;
}

InferenceModel::InferenceModel(Graph graph, DeviceContext& ctx, const InferenceOptions& o,
                               Console& console)
    : graph_(std::move(graph)), ctx_(ctx) {
  prepare_inference_graph(graph_, o, ctx_, console);
  store_ = std::make_unique<ParamStore>(graph_, ctx_, 0);
}

InferenceModel::~InferenceModel() = default;

Executor& InferenceModel::executor(int64_t batch) {
  auto& e = execs_[batch];
  if (!e) {
    ExecOptions eo;
    eo.training = false;
    eo.frozen_params = true;  // a loaded model: kernels reorder their weights once
    eo.outputs = {graph_.value(graph_.outputs()[0]).name};
    e = std::make_unique<Executor>(graph_, *store_, ctx_, eo);
    e->prepare(batch);
  }
  return *e;
}

const Tensor& InferenceModel::run(const Tensor& input, int64_t batch) {
  Executor& ex = executor(batch);
  ex.set_input("image", input);
  ex.forward(Mode::eval);
  const Tensor& y = ex.tensor(graph_.outputs()[0]);
  if (!host_out_.defined() || host_out_.shape() != y.shape()) host_out_ = Tensor::empty(y.shape(), y.dtype());
  ctx_.copy(host_out_, y);
  return host_out_;
}

const Tensor& InferenceModel::run_logical(const Tensor& input, int64_t batch) {
  Shape s = graph_.value(graph_.value_id("image")).shape;
  s[0] = batch;
  QF_CHECK(input.numel() == numel(s), "run_logical: input size does not match ", shape_str(s));
  if (!staging_.defined() || staging_.shape() != s) staging_ = Tensor::empty(s, DType::f32);
  if (s.size() == 4)  // each sample (C, H*W) -> (H*W, C)
    batched_transpose(input.data<float>(), staging_.data<float>(), s[0], s[1], s[2] * s[3]);
  else
    staging_.copy_from(input.reshape(s));
  return run(staging_, batch);
}

}  // namespace qf
