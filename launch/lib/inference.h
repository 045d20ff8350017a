// Inference over a loaded model for the commands that only run forward (infer, bench): weights in
// a ParamStore, one inference executor per batch size, and — for QDQ models — the int8 lowering
// (quant/int8_lowering.h) so quantized convolutions and matmuls run on int8 kernels.
#pragma once

#include <map>
#include <memory>

#include "launch/lib/config_schema.h"
#include "nn/executor.h"
#include "trainer/console.h"

namespace qf {

struct InferenceOptions {
  bool int8 = true;  // lower QDQ patterns to the int8 kernels (false: run Q/DQ ops as written)
};

// Binds `run.int8` (alias --int8).
void bind_inference_options(ConfigSchema& schema, InferenceOptions& o);

// Applies the options to a graph about to be run for inference: the int8 lowering of QDQ models.
// Says on the console what it did. Returns the number of quantized ops now on int8 kernels.
int prepare_inference_graph(Graph& g, const InferenceOptions& o, Console& console);

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
