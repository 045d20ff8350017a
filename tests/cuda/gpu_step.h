// Helpers of the GPU training-step tests: one training step of a graph on any context, and
// host copies of a store's state, so a CPU run and a GPU run of the same step can be compared.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include "models/builder.h"
#include "nn/executor.h"
#include "tests/op_check.h"
#include "trainer/optimizer.h"

namespace qf::test {

// A batch of `n` images of `shape` (C, H, W) in [-1, 1] and labels in [0, classes).
struct HostBatch {
  Tensor images, labels;
};
inline HostBatch make_batch(int64_t n, const Shape& chw, int classes, uint64_t seed) {
  HostBatch b;
  b.images = random_tensor({n, chw[0], chw[1], chw[2]}, seed, -1, 1, DType::f32);
  b.labels = Tensor::empty({n}, DType::i32);
  for (int64_t i = 0; i < n; ++i)
    b.labels.data<int32_t>()[i] =
        static_cast<int32_t>((i * 7 + static_cast<int64_t>(seed)) % classes);
  return b;
}

// Parameters, buffers and (with a "grad." prefix) gradients of `store`, on the host.
inline std::map<std::string, Tensor> host_state(const ParamStore& store) {
  std::map<std::string, Tensor> r = store.state_dict();
  for (const ParamEntry& e : store.params()) {
    Tensor h = Tensor::empty(e.shape, DType::f32);
    store.context().copy(h, e.grad);
    r["grad." + e.name] = h;
  }
  return r;
}

// Largest max_rel_diff over the tensors of `a` whose names start with `prefix`; `worst` names it.
inline double max_diff(const std::map<std::string, Tensor>& a,
                       const std::map<std::string, Tensor>& b, const std::string& prefix,
                       std::string* worst = nullptr) {
  double m = 0;
  for (const auto& [name, t] : a) {
    if (name.rfind(prefix, 0) != 0) continue;
    const double d = max_rel_diff(t, b.at(name));
    if (d > m || std::isnan(d)) {
      m = d;
      if (worst) *worst = name;
    }
  }
  return m;
}

// Runs `steps` training steps (forward, backward, SGD at lr 0.05 with momentum 0.9) of graph `g`
// on `ctx` from the store's seed-5 initialisation, through the context's StepGraph when
// `recorded`, eagerly otherwise; returns the host state after the last step, the last loss and
// whether the step ran as replays of a recording.
inline std::map<std::string, Tensor> train_steps(const Graph& g, DeviceContext& ctx, int64_t batch,
                                                 const Shape& chw, int classes, int steps,
                                                 bool recorded, float* last_loss = nullptr,
                                                 bool* was_recorded = nullptr) {
  ParamStore store(g, ctx, 5);
  Executor ex(g, store, ctx, ExecOptions{});
  ex.prepare(batch);
  OptimizerConfig oc;
  oc.lr = 0.05;
  oc.momentum = 0.9;
  oc.weight_decay = 1e-4;
  SgdMomentum opt(store, oc);
  auto fn = [&](const StepValues& v) {
    ex.forward(Mode::train, v.step);
    ex.backward();
    opt.step(v.lr);
  };
  std::unique_ptr<StepGraph> sg =
      recorded ? ctx.make_step_graph(fn, true) : std::make_unique<EagerStepGraph>(fn);
  for (int s = 0; s < steps; ++s) {
    const HostBatch b = make_batch(batch, chw, classes, 100 + s);
    ex.set_input("image", b.images);
    ex.set_input("label", b.labels);
    sg->run(StepValues{StepInfo{s, 9}, 0.05 * (1.0 - 0.1 * s)});
  }
  ctx.synchronize();
  if (was_recorded) *was_recorded = sg->recorded();
  if (last_loss) {
    Tensor l = Tensor::empty({}, DType::f32);
    ctx.copy(l, ex.tensor("loss"));
    *last_loss = l.data<float>()[0];
  }
  return host_state(store);
}

}  // namespace qf::test
