// The straight-through backward inside the executor (OpDef::grad_passthrough): a fake-quant node's
// input gradient shares the buffer of its output gradient (activations) or its output gradient is
// written straight into the parameter's gradient (weights), and the node's backward is skipped.
// Checked against gradients worked out by hand from the executor's own forward tensors:
//   x (N,4) -> fq -> l1 (fq'd W1) -> h -> relu -> r -> fq -> rq -> l2 (fq'd W2) -> logits -> CE
//   dlogits = (softmax(logits) - onehot) / N;  dW2 = dlogits^T rq;  db2 = sum_n dlogits
//   drq = dlogits W2q;  dr = drq (STE);  dh = dr * (h > 0);  dW1 = dh^T xq;  db1 = sum_n dh
//   and dW = dWq (STE) for both weights.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "models/registry.h"
#include "nn/executor.h"
#include "quant/quant_aware.h"
#include "tests/op_check.h"

namespace qf {
namespace {

constexpr int64_t kN = 6, kIn = 4, kHid = 5, kOut = 3;

Graph two_layer_qat_graph() {
  Graph g;
  ModelBuilder b(g);
  const int x = b.input("image", {-1, kIn});
  const int h = b.linear("l1", x, kIn, kHid, true, Init::normal(0, 0.5), Init::normal(0, 0.1));
  const int r = b.relu("act", h);
  const int logits = b.linear("l2", r, kHid, kOut, true, Init::normal(0, 0.5), Init::zeros());
  g.mark_output(logits);
  add_classification_loss(g, logits, 0.0);
  QuantConfig c;
  c.quantize_op_types = {"mul"};
  quant_aware(g, c);
  return g;
}

std::vector<double> host_values(CpuContext& ctx, const Tensor& t) {
  Tensor host = Tensor::empty(t.shape(), DType::f32);
  ctx.copy(host, t);
  return std::vector<double>(host.data<float>(), host.data<float>() + host.numel());
}

// The gradients worked out by hand (the header comment's formulas) from the forward's tensors.
struct HandGradients {
  std::vector<double> dw1, db1, dw2, db2, drq;
};

HandGradients hand_gradients(const std::vector<double>& X, const std::vector<double>& R,
                             const std::vector<double>& W2, const std::vector<double>& H,
                             const std::vector<double>& L) {
  std::vector<double> dlog(kN * kOut), dw2(kOut * kHid, 0), db2(kOut, 0), dh(kN * kHid, 0);
  std::vector<double> dw1(kHid * kIn, 0), db1(kHid, 0);
  for (int64_t n = 0; n < kN; ++n) {
    double mx = -1e30, sum = 0;
    for (int64_t j = 0; j < kOut; ++j) mx = std::max(mx, L[n * kOut + j]);
    for (int64_t j = 0; j < kOut; ++j) sum += std::exp(L[n * kOut + j] - mx);
    for (int64_t j = 0; j < kOut; ++j)
      dlog[n * kOut + j] =
          (std::exp(L[n * kOut + j] - mx) / sum - (j == n % kOut ? 1.0 : 0.0)) / kN;
  }
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t j = 0; j < kOut; ++j) {
      db2[j] += dlog[n * kOut + j];
      for (int64_t k = 0; k < kHid; ++k) {
        dw2[j * kHid + k] += dlog[n * kOut + j] * R[n * kHid + k];
        dh[n * kHid + k] += dlog[n * kOut + j] * W2[j * kHid + k];
      }
    }
  const std::vector<double> drq = dh;  // the gradient reaching r (straight through)
  for (int64_t i = 0; i < kN * kHid; ++i) dh[i] *= H[i] > 0 ? 1.0 : 0.0;
  for (int64_t n = 0; n < kN; ++n)
    for (int64_t k = 0; k < kHid; ++k) {
      db1[k] += dh[n * kHid + k];
      for (int64_t i = 0; i < kIn; ++i) dw1[k * kIn + i] += dh[n * kHid + k] * X[n * kIn + i];
    }
  return {dw1, db1, dw2, db2, drq};
}

TEST(StraightThroughExecutor, SharedGradientBuffersGiveTheHandComputedGradients) {
  for (bool reference : {false, true}) {
    Graph g = two_layer_qat_graph();
    CpuContext ctx(2, reference);
    ParamStore store(g, ctx, 3);
    const Node* l1 = g.find_node("l1");
    const Node* l2 = g.find_node("l2");
    ASSERT_TRUE(l1 && l2);
    auto quantizer_input = [&](int v) {  // the value a fake-quant node turned into v
      for (const Node& n : g.nodes())
        if (n.outputs[0] == v) {
          EXPECT_NE(n.op.find("quantize"), std::string::npos) << n.op;
          return n.inputs[0];
        }
      throw InternalError("no producer");
    };
    const int xq = l1->inputs[0], w1q = l1->inputs[1], rq = l2->inputs[0], w2q = l2->inputs[1];
    const int w1 = quantizer_input(w1q), w2 = quantizer_input(w2q), r = quantizer_input(rq);
    ExecOptions keep;  // the test reads these activations after the step
    for (int v : {xq, rq, w2q, l1->outputs[0], l2->outputs[0]})
      keep.outputs.push_back(g.value(v).name);
    Executor ex(g, store, ctx, keep);
    ex.prepare(kN);
    ex.set_input("image", test::random_tensor({kN, kIn}, 5, -1, 1, DType::f32));
    Tensor labels = Tensor::empty({kN}, DType::i32);
    for (int i = 0; i < kN; ++i) labels.data<int32_t>()[i] = i % kOut;
    ex.set_input("label", labels);
    std::map<size_t, int> ready;
    ex.set_grad_ready_hook([&](size_t p) { ++ready[p]; });
    ex.forward(Mode::train, StepInfo{0, 1});
    ex.backward();

    const std::vector<double> X = host_values(ctx, ex.tensor(xq));
    const std::vector<double> R = host_values(ctx, ex.tensor(rq));
    const std::vector<double> W2 = host_values(ctx, ex.tensor(w2q));
    const std::vector<double> H = host_values(ctx, ex.tensor(l1->outputs[0]));
    const std::vector<double> L = host_values(ctx, ex.tensor(l2->outputs[0]));

    const HandGradients want = hand_gradients(X, R, W2, H, L);
    auto expect_grad = [&](int value, const std::vector<double>& want) {
      const std::string& name = g.value(value).name;
      const ParamEntry* e = store.find(name);
      ASSERT_NE(e, nullptr) << name;
      const std::vector<double> got = host_values(ctx, e->grad);
      ASSERT_EQ(got.size(), want.size()) << name;
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], want[i], 1e-6 + 1e-5 * std::fabs(want[i])) << name << "[" << i << "]";
    };
    expect_grad(w1, want.dw1);
    expect_grad(l1->inputs[2], want.db1);
    expect_grad(w2, want.dw2);
    expect_grad(l2->inputs[2], want.db2);
    // The activation quantizer's input and output gradients are one buffer (straight through), and
    // ReLU's backward writes its input's gradient over it (OpDef::grad_in_place): after the step it
    // holds d h = d rq * (h > 0).
    const int h = l1->outputs[0];
    const std::vector<double> dh = host_values(ctx, ex.grad(h));
    for (size_t i = 0; i < dh.size(); ++i)
      EXPECT_NEAR(dh[i], want.drq[i] * (H[i] > 0 ? 1.0 : 0.0), 1e-6) << "d h[" << i << "]";
    EXPECT_EQ(ex.grad(r).raw(), ex.grad(rq).raw());
    EXPECT_EQ(ex.grad(h).raw(), ex.grad(r).raw());
    EXPECT_EQ(ready.size(), store.params().size());
    for (auto [p, count] : ready) EXPECT_EQ(count, 1) << store.params()[p].name;
  }
}

}  // namespace
}  // namespace qf
