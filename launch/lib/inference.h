// Inference over a loaded model for the commands that only run forward (infer, bench; eval shares
// the graph pipeline): weights in a ParamStore, one inference executor per batch size. The
// pipeline, in order: for QDQ models the int8 lowering (quant/int8_lowering.h) so quantized
// convolutions and matmuls run on int8 kernels; then, on the CPU, the fusions of
// quant/inference_fusion.h (BatchNorm folded into the convolution, residual Add and activation
// into its oneDNN post-ops) on what runs in float.
#pragma once

#include <map>
#include <memory>

#include "launch/lib/config_schema.h"
#include "nn/executor.h"
#include "trainer/console.h"

namespace qf {

struct InferenceOptions {
  bool int8 = true;  // lower QDQ patterns to the int8 kernels (false: run Q/DQ ops as written)
  bool fuse = true;  // fold BatchNorm, residual Add and activations into convolutions (CPU)
  bool fuse_blocks = true;  // expand -> depthwise -> project chains as inverted_residual (CPU)
  bool winograd = true;  // dense 3x3 stride-1 convolutions on Winograd (CPU)
};

// Binds `run.int8`, `run.fuse`, `run.fuse_blocks` and `run.winograd` (aliases --int8, --fuse,
// --fuse-blocks, --winograd).
void bind_inference_options(ConfigSchema& schema, InferenceOptions& o);

// Applies the options to a graph about to be run for inference on `ctx` (weights in the graph as
// data): the int8 lowering of QDQ models, then the fusions (CPU kernels only; a GPU graph keeps
// its BatchNorms unless folded elsewhere). Says on the console what it did. Returns the number of
// quantized ops now on int8 kernels.
int prepare_inference_graph(Graph& g, const InferenceOptions& o, const DeviceContext& ctx,
                            Console& console);

class InferenceModel {
 public:
  // Takes the graph (logits = output 0), prepares it (prepare_inference_graph) and materialises
  // its weights on ctx's device.
  InferenceModel(Graph graph, DeviceContext& ctx, const InferenceOptions& o, Console& console);
  ~InferenceModel();

  const Graph& graph() const { return graph_; }
  // Runs `batch` samples given in the executor's layout (channels-last images); returns output 0
  // on the host, valid until the next call.
  const Tensor& run(const Tensor& input, int64_t batch);
  // The same for samples in logical (N, C, H, W) order (converted to channels-last first).
  const Tensor& run_logical(const Tensor& input, int64_t batch);
  Executor& executor(int64_t batch);

 private:
  Graph graph_;
  DeviceContext& ctx_;
  std::unique_ptr<ParamStore> store_;
  std::map<int64_t, std::unique_ptr<Executor>> execs_;
  Tensor staging_, host_out_;
};

}  // namespace qf
