// Helpers of the tests that run under `mpirun -np N` (tests/dist_mpi): the job's communicator,
// set up by main.cpp, and cross-rank comparisons. Every helper is collective.
#pragma once

#include "nn/communicator.h"
#include "nn/tensor.h"

namespace qf::test {

// The job's communicator (MPI under mpirun with several ranks, local otherwise).
Communicator& world();

// True on every rank when `ok` is true on every rank.
bool all_ranks(bool ok);

// True on every rank when the host tensor `t` is byte for byte the same on every rank.
bool same_on_all_ranks(const Tensor& t);

// The slice of samples [begin, end) of a host tensor whose first axis is the sample axis (also
// for channels-last activations, whose samples are contiguous too).
Tensor sample_slice(const Tensor& t, int64_t begin, int64_t end);

}  // namespace qf::test
