// The new ops together in one small residual CNN with squeeze-excitation scaling, run through the
// Executor: a training step on the fast CPU kernels must match the same step on the reference
// kernels (loss, every parameter gradient, the batch-norm running statistics), and the loss
// gradient must be the scalar seed the executor plants.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/executor.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

class Builder {
 public:
  int input(const std::string& name, Shape s, DType t = DType::f32) {
    Value v;
    v.name = name;
    v.kind = ValueKind::input;
    v.shape = std::move(s);
    v.dtype = t;
    return g.add_value(v);
  }
  int state(const std::string& name, Shape s, Init init, ValueKind kind = ValueKind::param) {
    Value v;
    v.name = name;
    v.kind = kind;
    v.shape = std::move(s);
    v.init = std::move(init);
    return g.add_value(v);
  }
  int node(const std::string& op, const std::string& name, std::vector<int> in, Attrs attrs = {}) {
    Value out;
    out.name = name + ".out";
    Node n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    n.outputs = {g.add_value(out)};
    n.attrs = std::move(attrs);
    g.add_node(std::move(n));
    return g.nodes().back().outputs[0];
  }
  int bn(const std::string& name, int x, int64_t c) {
    return node("batch_norm", name,
                {x, state(name + ".weight", {c}, Init::uniform(0.5, 1.5)),
                 state(name + ".bias", {c}, Init::uniform(-0.5, 0.5)),
                 state(name + ".running_mean", {c}, Init::zeros(), ValueKind::buffer),
                 state(name + ".running_var", {c}, Init::ones(), ValueKind::buffer)});
  }
  Graph g;
};

using ints = std::vector<int64_t>;

Graph small_net() {
  Builder b;
  const int x = b.input("image", {-1, 3, 12, 12});
  const int labels = b.input("label", {-1}, DType::i32);
  int h = b.node("conv2d", "conv1",
                 {x, b.state("conv1.weight", {24, 3, 3, 3}, Init::kaiming_normal_fan_out())},
                 {{"pads", ints{1, 1, 1, 1}}});
  h = b.node("relu", "relu1", {b.bn("bn1", h, 24)});
  h = b.node("max_pool2d", "pool1", {h},
             {{"kernel_shape", ints{3, 3}}, {"strides", ints{2, 2}}, {"pads", ints{1, 1, 1, 1}}});
  int r = b.node("conv2d", "conv2",
                 {h, b.state("conv2.weight", {24, 24, 3, 3}, Init::kaiming_normal_fan_out())},
                 {{"pads", ints{1, 1, 1, 1}}});
  r = b.bn("bn2", r, 24);
  h = b.node("add", "residual", {r, h});  // h is used twice: the executor sums its gradients
  const int se = b.node("sigmoid", "se.gate", {b.node("global_avg_pool", "se.pool", {h})});
  h = b.node("mul", "se.scale", {h, se});
  h = b.node("add", "shift", {h, b.state("shift", {24, 1, 1}, Init::uniform(-0.1, 0.1))});
  h = b.node("avg_pool2d", "pool2", {h}, {{"kernel_shape", ints{2, 2}}, {"ceil_mode", int64_t{1}}});
  h = b.node("flatten", "flatten", {h});
  h = b.node("dropout", "drop", {h}, {{"ratio", 0.25}});
  h = b.node("linear", "fc",
             {h, b.state("fc.weight", {10, 24 * 3 * 3}, Init::kaiming_uniform_fan_in(216)),
              b.state("fc.bias", {10}, Init::kaiming_uniform_fan_in(216))});
  Value loss;
  loss.name = "loss";
  Node n;
  n.op = "softmax_cross_entropy";
  n.name = "criterion";
  n.inputs = {h, labels};
  n.outputs = {b.g.add_value(loss)};
  n.attrs = {{"label_smoothing", 0.1}};
  b.g.add_node(std::move(n));
  b.g.mark_output(b.g.value_id("loss"));
  return std::move(b.g);
}

struct Step {
  float loss;
  std::map<std::string, Tensor> grads, state;
};

Step train_step(const Graph& g, bool reference) {
  CpuContext ctx(0, reference);
  ParamStore store(g, ctx, 7);
  Executor ex(g, store, ctx);
  ex.prepare(6);
  ex.set_input("image", to_dtype(random_tensor({6, 3, 12, 12}, 3, -2, 2), DType::f32));
  Tensor labels = Tensor::empty({6}, DType::i32);
  for (int i = 0; i < 6; ++i) labels.data<int32_t>()[i] = (i * 3) % 10;
  ex.set_input("label", labels);
  ex.forward(Mode::train, StepInfo{4, 99});
  ex.backward();
  Step s;
  s.loss = ex.tensor("loss").data<float>()[0];
  for (const ParamEntry& p : store.params()) s.grads[p.name] = p.grad.clone();
  s.state = store.state_dict();
  return s;
}

TEST(OpsGraph, FastTrainingStepMatchesReference) {
  const Graph g = small_net();
  const Step fast = train_step(g, false), ref = train_step(g, true);
  EXPECT_TRUE(std::isfinite(fast.loss));
  EXPECT_GT(fast.loss, 0.5f);  // ~log(10) for an untrained classifier
  EXPECT_NEAR(fast.loss, ref.loss, 1e-4 * (1 + std::fabs(ref.loss)));
  ASSERT_EQ(fast.grads.size(), 9u);
  for (const auto& [name, grad] : ref.grads) {
    double norm = 0;
    for (int64_t i = 0; i < grad.numel(); ++i)
      norm = std::max<double>(norm, std::fabs(grad.data<float>()[i]));
    EXPECT_GT(norm, 0.0) << name << " got no gradient";
    EXPECT_LE(max_rel_diff(fast.grads.at(name), grad), 1e-3) << name;
  }
  for (const auto& [name, t] : ref.state)
    EXPECT_LE(max_rel_diff(fast.state.at(name), t), 1e-4) << name;
  // The running statistics moved.
  EXPECT_NE(fast.state.at("bn1.running_var").data<float>()[0], 1.f);
}

}  // namespace
}  // namespace qf::test
