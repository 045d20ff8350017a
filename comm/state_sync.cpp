#include "comm/state_sync.h"

namespace qf {

void broadcast_model_state(ParamStore& store, Communicator& comm, int root) {
  if (comm.size() == 1) return;
  if (store.param_arena().numel() > 0) comm.broadcast(store.param_arena(), root);
  for (const auto& [dtype, arena] : store.buffer_arenas())
    if (arena.numel() > 0) comm.broadcast(arena, root);
}

}  // namespace qf
