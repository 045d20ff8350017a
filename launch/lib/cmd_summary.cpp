// qforge summary: per-layer output shapes, parameter counts and multiply-adds of a model, for one
// image. Without --model.form it shows the ImageNet form (3x224x224, 1000 classes), the form
// published parameter and MAC counts refer to. Multiply-adds are each op's own count (OpDef::macs):
// convolutions and linear layers, plus one per input element of each pooling window; batch norm,
// activations and element-wise ops count none (docs/models.md).
//
// --memory [--batch N] prints instead what one training step of that model holds at batch N, FP32
// and quant-aware (PaddleSlim's default quantizers), from the executor's own plan (docs/memory.md):
// a user picks a batch size from it before launching a job.
#include <algorithm>
#include <cstdio>
#include <new>

#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/setup.h"
#include "nn/executor.h"
#include "nn/op_registry.h"
#include "quant/quant_aware.h"

namespace qf {
namespace {

std::string human(double v) {
  char buf[32];
  if (v >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    std::snprintf(buf, sizeof buf, "%.2fK", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

double mib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// What one training step holds, by purpose (bytes), from the executor's plan. Planning allocates
// the step's buffers without touching them, so this costs address space, not memory.
struct StepMemory {
  size_t params = 0, grads = 0, momentum = 0, buffers = 0;
  Executor::MemoryPlan plan;
  size_t total() const { return params + grads + momentum + buffers + plan.total(); }
};

StepMemory plan_step(const ModelConfig& m, bool qat, int64_t batch) {
  Graph g = build_model(m);
  if (qat) quant_aware(g, QuantConfig{});
  add_classification_loss(g, g.outputs()[0], 0.0);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 0);
  Executor ex(g, store, ctx);
  ex.prepare(batch);
  StepMemory s;
  s.params = store.param_arena().nbytes();
  s.grads = store.grad_arena().nbytes();
  s.momentum = s.params;  // SGD's velocity, laid out like the parameters
  for (const auto& [dtype, t] : store.buffer_arenas()) s.buffers += t.nbytes();
  s.plan = ex.memory_plan();
  return s;
}

void print_memory(const RunConfig& c, int64_t batch) {
  StepMemory f, q;
  try {
    f = plan_step(c.model, false, batch);
    q = plan_step(c.model, true, batch);
  } catch (const std::bad_alloc&) {  // the plan reserves its buffers: more than the host allows
    throw_input_error("summary.batch: ", batch, " is too large to plan here: a training step of ",
                      c.model.name, " at that batch needs more memory than this machine can "
                      "reserve (allowed: a smaller batch)");
  }
  std::printf("%s, %s form, batch %lld: memory one training step holds (MiB, planned)\n",
              c.model.name.c_str(), c.model_form.c_str(), static_cast<long long>(batch));
  std::printf("%-44s %10s %10s\n", "", "FP32", "QAT");
  auto row = [](const char* what, size_t a, size_t b) {
    std::printf("%-44s %10.1f %10.1f\n", what, mib(a), mib(b));
  };
  row("parameters", f.params, q.params);
  row("parameter gradients", f.grads, q.grads);
  row("optimizer state (momentum)", f.momentum, q.momentum);
  row("buffers (BN statistics, quantizer state)", f.buffers, q.buffers);
  row("activations kept for backward", f.plan.saved, q.plan.saved);
  row("activations and gradients (shared buffers)", f.plan.slots, q.plan.slots);
  row("kernels' workspace", f.plan.workspace, q.plan.workspace);
  row("inputs and other", f.plan.other, q.plan.other);
  row("total", f.total(), q.total());
  std::printf("(\"activations kept for backward\" is the part of the shared buffers in use when the "
              "forward pass ends; kernels' own buffers, such as reordered weights, come on top)\n");
}

}  // namespace

int cmd_summary(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  c.model_form = "imagenet";
  bool memory = false;
  int64_t batch = 64;
  bind_run_config(schema, c);
  schema.add("summary.memory", &memory,
             "print the memory of one training step (FP32 and QAT) instead of the layers");
  schema.add("summary.batch", &batch, "batch size of --memory", 1, 1 << 16);
  schema.alias("memory", "summary.memory");
  schema.alias("batch", "summary.batch");
  describe_command(schema, "summary");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("summary: unexpected argument '", positional[0], "'");
  apply_model_form(schema, c);
  schema.validate();
  if (memory) {
    print_memory(c, batch);
    return 0;
  }
  const Graph g = build_model(c.model);

  std::vector<TensorDesc> desc(g.num_values());
  for (int v = 0; v < g.num_values(); ++v) {
    Shape s = g.value(v).shape;
    if (!s.empty() && s[0] < 0) s[0] = 1;
    desc[v] = {s, g.value(v).dtype};
  }
  std::printf("%s, %s form (scale %g, %d classes, input %dx%dx%d)\n", c.model.name.c_str(),
              c.model_form.c_str(), c.model.scale, c.model.num_classes, c.model.in_channels,
              c.model.image_size, c.model.image_size);
  int width = 28;
  for (const Node& n : g.nodes()) width = std::max(width, static_cast<int>(n.name.size()));
  std::printf("%-*s %-16s %-22s %12s %14s\n", width, "layer", "op", "output", "params",
              "mult-adds");
  int64_t total_params = 0, total_macs = 0;
  for (const Node& n : g.nodes()) {
    std::vector<TensorDesc> in, out;
    for (int v : n.inputs) in.push_back(v >= 0 ? desc[v] : TensorDesc{});
    out = infer_node(n, in);
    for (size_t i = 0; i < out.size(); ++i) desc[n.outputs[i]] = out[i];
    int64_t params = 0;
    for (int v : n.inputs)
      if (v >= 0 && g.value(v).kind == ValueKind::param) params += numel(g.value(v).shape);
    const OpDef& def = op_registry().get(n.op);
    const int64_t macs = def.macs ? def.macs(n, in, out) : 0;
    total_params += params;
    total_macs += macs;
    std::printf("%-*s %-16s %-22s %12lld %14lld\n", width, n.name.c_str(), n.op.c_str(),
                shape_str(out[0].shape).c_str(), static_cast<long long>(params),
                static_cast<long long>(macs));
  }
  std::printf("total: %lld parameters (%s), %lld multiply-adds (%s)\n",
              static_cast<long long>(total_params), human(total_params).c_str(),
              static_cast<long long>(total_macs), human(total_macs).c_str());
  return 0;
}

}  // namespace qf
