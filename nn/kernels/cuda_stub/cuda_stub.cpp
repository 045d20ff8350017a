// Linked in builds without CUDA: no CUDA kernels, and asking for a GPU says why there is none.
#include "nn/context.h"
#include "nn/op_registry.h"

namespace qf {

void register_nn_cuda_kernels(OpRegistry&) {}

bool cuda_available() { return false; }

std::string cuda_status() {
  return "this qforge was built without CUDA (configure with the CUDA toolkit and cuDNN 9 "
         "installed and -DQF_WITH_CUDA=ON)";
}

void* cuda_stream_of(DeviceContext&) { return nullptr; }

std::unique_ptr<DeviceContext> make_cuda_context(const Device& device, const ContextOptions&) {
  throw_input_error("device ", device.str(), ": ", cuda_status());
}

}  // namespace qf
