// QF_MPI(call): runs an MPI call whose communicator returns errors (MPI_ERRORS_RETURN) and throws
// InternalError with file:line, the call and MPI's message when it fails.
#pragma once

#include <mpi.h>

#include "nn/error.h"

#define QF_MPI(call)                                                                             \
  do {                                                                                           \
    const int qf_mpi_rc_ = (call);                                                               \
    if (qf_mpi_rc_ != MPI_SUCCESS) {                                                             \
      char qf_mpi_msg_[MPI_MAX_ERROR_STRING];                                                    \
      int qf_mpi_len_ = 0;                                                                       \
      MPI_Error_string(qf_mpi_rc_, qf_mpi_msg_, &qf_mpi_len_);                                   \
      throw ::qf::InternalError(::qf::str_cat(__FILE__, ":", __LINE__, ": ", #call, " failed: ", \
                                              std::string(qf_mpi_msg_, qf_mpi_len_)));           \
    }                                                                                            \
  } while (0)
