// Model state that must be identical on every rank before data-parallel training starts: rank
// `root`'s parameters and buffers (BN statistics, quantizer scales and their EMA state, PACT's
// alpha) are broadcast to all ranks, whole arenas at a time. Runs at the start of training and
// after a resume, so ranks that initialised or loaded differently still take identical steps.
#pragma once

#include "comm/communicator.h"
#include "nn/param_store.h"

namespace qf {

void broadcast_model_state(ParamStore& store, Communicator& comm, int root = 0);

}  // namespace qf
