// Model state that must be identical on every rank before data-parallel training starts: rank
// `root`'s parameters and buffers (BN statistics, quantizer scales and their EMA state, PACT's
// alpha) are broadcast to all ranks, whole arenas at a time. Runs at the start of training and
// after a resume, so ranks that initialised or loaded differently still take identical steps.
//
// buffer_drift measures the opposite case, state every rank keeps for itself (quantizer scales with
// quant.sync_scales off, BN statistics without SyncBatchNorm): over the f32 buffers whose name ends
// with `suffix`, the largest element-wise spread (max - min over ranks) / max(|max|, |min|), and
// which buffer has it. Collective; 0 on one rank.
#pragma once

#include <string>

#include "nn/communicator.h"
#include "nn/param_store.h"

namespace qf {

void broadcast_model_state(ParamStore& store, Communicator& comm, int root = 0);

struct BufferDrift {
  int64_t buffers = 0;  // buffers compared
  double relative = 0;  // the largest relative spread over ranks
  std::string worst;    // the buffer it is in
};
BufferDrift buffer_drift(const ParamStore& store, Communicator& comm, const std::string& suffix);

}  // namespace qf
