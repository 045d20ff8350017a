#include "nn/kernels/cuda/cublas_lib.h"

#include <dlfcn.h>

#include <string>

#include "nn/error.h"

#ifndef QF_CUBLAS_DIR
#define QF_CUBLAS_DIR ""
#endif

namespace qf::cuda {
namespace {

void* open_cublas() {
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  void* h = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h && QF_CUBLAS_DIR[0] != '\0') {
    const std::string path = std::string(QF_CUBLAS_DIR) + "/" + name;
    h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (!h)
    throw_input_error("cannot load ", name, " (", dlerror(),
                      "): put the directory that holds cuBLAS on LD_LIBRARY_PATH");
  return h;
}

template <class F>
void bind(void* h, F& f, const char* symbol) {
  f = reinterpret_cast<F>(dlsym(h, symbol));
  if (!f) throw_input_error("cuBLAS library has no symbol ", symbol);
}

CublasLib load() {
  void* h = open_cublas();  // kept open for the life of the process
  CublasLib l{};
  bind(h, l.create, "cublasCreate_v2");
  bind(h, l.destroy, "cublasDestroy_v2");
  bind(h, l.set_stream, "cublasSetStream_v2");
  bind(h, l.set_math_mode, "cublasSetMathMode");
  bind(h, l.set_workspace, "cublasSetWorkspace_v2");
  bind(h, l.sgemm, "cublasSgemm_v2");
  return l;
}

}  // namespace

const CublasLib& cublas_lib() {
  static const CublasLib lib = load();
  return lib;
}

}  // namespace qf::cuda
