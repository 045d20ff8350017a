#include "comm/state_sync.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qf {

void broadcast_model_state(ParamStore& store, Communicator& comm, int root) {
  if (comm.size() == 1) return;
  if (store.param_arena().numel() > 0) comm.broadcast(store.param_arena(), root);
  for (const auto& [dtype, arena] : store.buffer_arenas())
    if (arena.numel() > 0) comm.broadcast(arena, root);
}

BufferDrift buffer_drift(const ParamStore& store, Communicator& comm, const std::string& suffix) {
  BufferDrift d;
  for (const ParamEntry& e : store.buffers()) {
    if (e.dtype != DType::f32 || e.name.size() < suffix.size() ||
        e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    ++d.buffers;
    Tensor host = Tensor::empty(e.shape, DType::f32);
    store.context().copy(host, e.data);
    const int64_t n = host.numel();
    std::vector<double> hi(n), neg_lo(n);
    for (int64_t i = 0; i < n; ++i) {
      hi[i] = host.data<float>()[i];
      neg_lo[i] = -hi[i];
    }
    comm.all_reduce_max_host(hi.data(), hi.size());
    comm.all_reduce_max_host(neg_lo.data(), neg_lo.size());
    for (int64_t i = 0; i < n; ++i) {
      const double lo = -neg_lo[i];
      const double scale = std::max({std::fabs(hi[i]), std::fabs(lo), 1e-30});
      const double r = (hi[i] - lo) / scale;
      if (r > d.relative) {
        d.relative = r;
        d.worst = e.name;
      }
    }
  }
  return d;
}

}  // namespace qf
