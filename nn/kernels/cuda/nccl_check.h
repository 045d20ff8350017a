// QF_NCCL_CHECK: the NCCL twin of the checks in cuda_check.h, for the NCCL communicator
// (comm/). Include only where NCCL is part of the build.
#pragma once

#include <nccl.h>

#include "nn/kernels/cuda/cuda_check.h"

#define QF_NCCL_CHECK(call)                                                                        \
  do {                                                                                             \
    const ncclResult_t qf_r_ = (call);                                                             \
    if (qf_r_ != ncclSuccess)                                                                      \
      ::qf::cuda::throw_library_error("NCCL", static_cast<long>(qf_r_), ncclGetErrorString(qf_r_), \
                                      #call, __FILE__, __LINE__);                                  \
  } while (0)
