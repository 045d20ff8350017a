// cuBLAS, loaded at run time. Linking libcublas makes every process that links qforge pay about
// a second of start-up (libcublasLt is 540 MB; measured on this machine: 1.1 s per process, GPU
// or not), which the CPU-only test suite runs hundreds of times. So the CUDA backend opens
// libcublas.so.<major> with dlopen when the first CUDA context is made and calls it through this
// table. The library is found on the loader's path (LD_LIBRARY_PATH, or the toolkit's lib
// directory, which the build records; tools/gpu/run_on_gpu.sh points it at the cuBLAS of the
// GPU machine's Python nvidia-cublas package).
#pragma once

#include <cublas_api.h>

namespace qf::cuda {

struct CublasLib {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasSetWorkspace_v2) set_workspace;
  decltype(&cublasSgemm_v2) sgemm;
};

// The loaded library (loaded on first call; InputError naming the file when it cannot be).
const CublasLib& cublas_lib();

}  // namespace qf::cuda
