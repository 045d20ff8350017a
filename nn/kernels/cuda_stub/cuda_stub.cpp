// Linked in builds without CUDA: no CUDA kernels, and asking for a GPU says why there is none.
#include "nn/context.h"
#include "nn/op_registry.h"

namespace qf {

void register_cuda_kernels(OpRegistry&) {}

bool cuda_available() { return false; }

void* cuda_stream_of(DeviceContext&) { return nullptr; }

std::unique_ptr<DeviceContext> make_cuda_context(const Device& device) {
  throw_input_error("device ", device.str(),
                    ": this qforge was built without CUDA (configure with the CUDA toolkit "
                    "installed and -DQF_WITH_CUDA=ON)");
}

}  // namespace qf
