#include "quant/conv_unit.h"

namespace qf {

ConvUnit conv_unit(const Graph& g, const std::vector<std::vector<int>>& consumers, int conv,
                   bool plain_batch_norm) {
  const auto& nodes = g.nodes();
  ConvUnit u;
  u.last = conv;
  int v = nodes[conv].outputs[0];
  // The single consumer of v when it is one of `ops`, else -1.
  auto next = [&](std::initializer_list<const char*> ops) {
    if (consumers[v].size() != 1) return -1;
    const int c = consumers[v][0];
    for (const char* op : ops)
      if (nodes[c].op == op) return c;
    return -1;
  };
  auto take = [&](int node) {
    u.last = node;
    v = nodes[node].outputs[0];
  };
  if ((u.bn_unscale = next({"bn_unscale"})) >= 0) take(u.bn_unscale);
  if ((u.bn_unscale >= 0 || plain_batch_norm) && (u.batch_norm = next({"batch_norm"})) >= 0)
    take(u.batch_norm);
  u.bn_end = v;
  if ((u.activation = next({"relu", "relu6"})) >= 0) take(u.activation);
  u.end = v;
  return u;
}

}  // namespace qf
