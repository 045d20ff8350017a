// qforge summary: per-layer output shapes, parameter counts and multiply-adds of a model, for one
// image. Without --model.form it shows the ImageNet form (3x224x224, 1000 classes), the form
// published parameter and MAC counts refer to. Multiply-adds are each op's own count (OpDef::macs):
// convolutions and linear layers, plus one per input element of each pooling window; batch norm,
// activations and element-wise ops count none (docs/models.md).
#include <algorithm>
#include <cstdio>

#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/setup.h"
#include "nn/op_registry.h"

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

}  // namespace

int cmd_summary(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  c.model_form = "imagenet";
  bind_run_config(schema, c);
  describe_command(schema, "summary");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("summary: unexpected argument '", positional[0], "'");
  apply_model_form(schema, c);
  schema.validate();
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
