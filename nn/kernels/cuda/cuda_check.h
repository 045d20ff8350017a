// Error checks for every CUDA, cuDNN and cuBLAS call of the backend (errors carry file:line): a
// failing call throws InternalError naming the library, the error, the call and file:line.
// Out-of-memory from the caching allocator is an InputError instead (nn/caching_allocator.h). NCCL
// has its own macro in nn/kernels/cuda/nccl_check.h so that this header needs no NCCL.
//
// Kernel launches are checked with QF_CUDA_CHECK_LAUNCH() right after the <<<>>>; errors a kernel
// hits while running surface at the next synchronising call and are reported there.
#pragma once

#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace qf::cuda {

[[noreturn]] void throw_library_error(const char* library, long code, const char* message,
                                      const char* call, const char* file, int line);
const char* cublas_status_name(cublasStatus_t s);
// cuDNN's last error message (cudnnGetLastErrorString), or "" when it has none.
const char* cudnn_last_error();

}  // namespace qf::cuda

#define QF_CUDA_CHECK(call)                                                                        \
  do {                                                                                             \
    const cudaError_t qf_e_ = (call);                                                              \
    if (qf_e_ != cudaSuccess)                                                                      \
      ::qf::cuda::throw_library_error("CUDA", static_cast<long>(qf_e_), cudaGetErrorString(qf_e_), \
                                      #call, __FILE__, __LINE__);                                  \
  } while (0)

#define QF_CUDA_CHECK_LAUNCH() QF_CUDA_CHECK(cudaGetLastError())

#define QF_CUDNN_CHECK(call)                                                                  \
  do {                                                                                        \
    const cudnnStatus_t qf_s_ = (call);                                                       \
    if (qf_s_ != CUDNN_STATUS_SUCCESS)                                                        \
      ::qf::cuda::throw_library_error("cuDNN", static_cast<long>(qf_s_),                      \
                                      cudnnGetErrorString(qf_s_), #call, __FILE__, __LINE__); \
  } while (0)

#define QF_CUBLAS_CHECK(call)                                                                 \
  do {                                                                                        \
    const cublasStatus_t qf_s_ = (call);                                                      \
    if (qf_s_ != CUBLAS_STATUS_SUCCESS)                                                       \
      ::qf::cuda::throw_library_error("cuBLAS", static_cast<long>(qf_s_),                     \
                                      ::qf::cuda::cublas_status_name(qf_s_), #call, __FILE__, \
                                      __LINE__);                                              \
  } while (0)
