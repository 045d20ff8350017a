// qlinear: y = x w^T with int8 operands and int32 accumulation — the int8 engine's fully connected
// layer, made by the int8 lowering from a QDQ model's DQ -> Gemm/MatMul -> Q pattern.
//   inputs: x (N, in) int8 or uint8 (zero point 0); w (out, in) int8 constant (PyTorch's layout);
//           bias (out) float32 in accumulator units, optional
//   attrs:  the output stage of quant/ops/int8_epilogue.h
//   output: y (N, out) float32, int8 or uint8
//   y[n, o] = epilogue_o( sum_i x[n, i] * w[o, i]  +  bias[o] )
// Inference only. Reference: exact int32 loops; fast: a oneDNN int8 matmul with the output stage as
// output scales and post-ops, weights reordered once on the first forward.
#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/op_util.h"
#include "quant/ops/int8_epilogue.h"

namespace qf {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

struct QLinearGeom {
  int64_t N, in, out;
  bool bias;
};

QLinearGeom geom(const Node& node, std::span<const TensorDesc> in) {
  expect_rank(node, in[0], 2, "input");
  expect_rank(node, in[1], 2, "weight");
  if (in[0].dtype != DType::i8 && in[0].dtype != DType::u8)
    shape_error(node, str_cat("input must be int8 or uint8, got ", dtype_name(in[0].dtype)));
  if (in[1].dtype != DType::i8) shape_error(node, "weight must be int8");
  QLinearGeom g{in[0].shape[0], in[0].shape[1], in[1].shape[0],
                node.inputs.size() > 2 && node.inputs[2] >= 0};
  if (in[1].shape[1] != g.in)
    shape_error(node,
                str_cat("weight ", shape_str(in[1].shape), " does not take ", g.in, " inputs"));
  if (g.bias && (in[2].shape != Shape{g.out} || in[2].dtype != DType::f32))
    shape_error(node, str_cat("bias must be float32 of shape [", g.out, "]"));
  return g;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const QLinearGeom g = geom(node, in);
  Int8Epilogue::of(node, g.out);
  return {{{g.N, g.out}, int8_out_dtype(node)}};
}

int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const QLinearGeom g = geom(node, in);
  return g.N * g.in * g.out;
}

class QLinearRef final : public Kernel {
 public:
  explicit QLinearRef(const KernelSetup& s)
      : g_(geom(s.node, s.in)), e_(Int8Epilogue::of(s.node, g_.out)) {}
  void forward(const ForwardCall& c) override {
    const float* bias = g_.bias ? c.in[2]->data<float>() : nullptr;
    const int8_t* w = c.in[1]->data<int8_t>();
    const bool u8 = c.in[0]->dtype() == DType::u8;
    for (int64_t n = 0; n < g_.N; ++n)
      for (int64_t o = 0; o < g_.out; ++o) {
        int32_t acc = 0;
        for (int64_t i = 0; i < g_.in; ++i) {
          const int32_t xv =
              u8 ? c.in[0]->data<uint8_t>()[n * g_.in + i] : c.in[0]->data<int8_t>()[n * g_.in + i];
          acc += xv * static_cast<int32_t>(w[o * g_.in + i]);
        }
        const float v = e_.apply(o, static_cast<float>(acc) + (bias ? bias[o] : 0.f));
        const int64_t k = n * g_.out + o;
        if (e_.out == DType::f32)
          c.out[0]->data<float>()[k] = v;
        else if (e_.out == DType::i8)
          c.out[0]->data<int8_t>()[k] = Int8Epilogue::saturate<int8_t>(v);
        else
          c.out[0]->data<uint8_t>()[k] = Int8Epilogue::saturate<uint8_t>(v);
      }
  }

 private:
  QLinearGeom g_;
  Int8Epilogue e_;
};

class QLinearDnnl final : public Kernel {
 public:
  explicit QLinearDnnl(const KernelSetup& s) : h_(dnnl_of(s.ctx)), g_(geom(s.node, s.in)) {
    const Int8Epilogue e = Int8Epilogue::of(s.node, g_.out);
    const dt xt = s.in[0].dtype == DType::u8 ? dt::u8 : dt::s8;
    const dt yt = e.out == DType::f32 ? dt::f32 : (e.out == DType::u8 ? dt::u8 : dt::s8);
    const memory::desc x({g_.N, g_.in}, xt, tag::ab);
    const memory::desc w({g_.in, g_.out}, dt::s8, tag::any);
    const memory::desc y({g_.N, g_.out}, yt, tag::ab);
    const memory::desc b = g_.bias ? memory::desc({1, g_.out}, dt::f32, tag::ab) : memory::desc();
    user_w_ = memory::desc({g_.in, g_.out}, dt::s8, tag::ba);  // (out, in) row-major, transposed
    pd_ = dnnl::matmul::primitive_desc({x, w, b, y}, e.dnnl_attr(1 << 1), h_.engine);
    prim_ = dnnl::matmul(pd_);
    w_ = memory(pd_.weights_desc(), h_.engine);
  }

  size_t workspace_bytes() const override { return pd_.scratchpad_desc().get_size(); }

  void forward(const ForwardCall& c) override {
    if (!w_ready_) {
      memory user = as_memory(user_w_, h_, *c.in[1]);
      dnnl::reorder(user, w_).execute(h_.stream, user, w_);
      w_ready_ = true;
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as_memory(pd_.src_desc(), h_, *c.in[0])},
        {DNNL_ARG_WEIGHTS, w_},
        {DNNL_ARG_DST, as_memory(pd_.dst_desc(), h_, *c.out[0])},
        {DNNL_ARG_SCRATCHPAD, memory(pd_.scratchpad_desc(), h_.engine, c.workspace)}};
    if (g_.bias) args[DNNL_ARG_BIAS] = as_memory(pd_.bias_desc(), h_, *c.in[2]);
    prim_.execute(h_.stream, args);
    h_.stream.wait();
  }

 private:
  DnnlHandles& h_;
  QLinearGeom g_;
  bool w_ready_ = false;
  memory::desc user_w_;
  memory w_;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
};

std::unique_ptr<Kernel> make_qlinear_dnnl(const KernelSetup& s) {
  return std::make_unique<QLinearDnnl>(s);
}

}  // namespace

void register_qlinear(OpRegistry& reg) {
  OpDef d;
  d.type = "qlinear";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.nondiff_inputs = {0, 1, 2};
  d.infer = infer;
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_qlinear_dnnl;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<QLinearRef>;
  reg.add(std::move(d));
}

}  // namespace qf
