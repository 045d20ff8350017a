// Generic op checks used by every op test:
//  - check_gradients: runs the op's reference kernel in double precision and compares its
//    backward with central finite differences of its forward (loss = sum(r * y) for a fixed
//    random r).
//  - check_fast_matches_ref: runs the fast CPU kernel and the reference kernel in float on the same
//    data and compares outputs, updated state inputs and gradients.
//  - check_cuda_matches_ref: the same comparison for the CUDA kernel (tests/cuda; the calling test
//    skips first with QF_SKIP_WITHOUT_GPU() where no GPU is usable).
// Every kernel runs through run_op_on, which copies the inputs to the context's device and fills
// outputs and gradients with all bits set (NaN for floats) before the kernel runs, so an element a
// kernel leaves unwritten — or a backward that accumulates instead of overwriting — shows.
// Inputs are given in double; they are converted to float for the fast/reference comparison.
// Test data should keep inputs away from kinks (ReLU at 0, pooling ties): a finite difference
// across a kink means nothing.
#pragma once

#include <optional>
#include <vector>

#include "nn/context.h"
#include "nn/graph.h"
#include "nn/op_registry.h"
#include "nn/tensor.h"

namespace qf::test {

struct OpCase {
  std::string op;
  Attrs attrs;
  std::vector<Tensor> inputs;  // undefined Tensor = absent optional input
  Mode mode = Mode::train;
  StepInfo step;
  double fd_eps = 1e-6;
  double grad_tol = 1e-6;   // |analytic - numeric| <= tol * (1 + |numeric|)
  double fast_tol = 1e-4;   // |fast - ref| <= tol * (1 + |ref|)
  double cuda_tol = 1e-4;   // |cuda - ref| <= tol * (1 + |ref|), float32 without TF32
};

// Results of one kernel run.
struct OpRun {
  std::vector<Tensor> outputs;
  std::vector<Tensor> state_after;  // copies of all inputs after forward (state updates)
  std::vector<Tensor> grads;        // per input; undefined where not computed
};

// Runs forward (and backward with upstream gradient `dy`, when given) with the kernel of `kind`
// (cuda: on test_cuda_context()). Results are host tensors.
OpRun run_op(const OpCase& c, KernelKind kind, const std::vector<Tensor>& dy = {});
// The same with the kernel kind `ctx` runs, inputs and outputs on its device.
OpRun run_op_on(const OpCase& c, DeviceContext& ctx, const std::vector<Tensor>& dy = {});

void check_gradients(const OpCase& c);
void check_fast_matches_ref(const OpCase& c);
void check_cuda_matches_ref(const OpCase& c);
// The case with its real-valued inputs in float32, the only real type the CUDA kernels take.
OpCase as_float32(OpCase c);

// One CUDA context per process for tests (cuda:0; TF32 off unless asked for).
DeviceContext& test_cuda_context(bool tf32 = false);

// Random tensors (fixed seed per call site through `seed`).
Tensor random_tensor(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0,
                     DType t = DType::f64);
// Values in [lo, hi] at least `gap` away from each of `kinks`.
Tensor random_away_from(const Shape& s, uint64_t seed, double lo, double hi,
                        std::vector<double> kinks, double gap = 0.05);
// Uniform integers in [lo, hi] as an int8 or uint8 tensor.
Tensor random_int_tensor(const Shape& s, DType t, uint64_t seed, int lo, int hi);
Tensor to_dtype(const Tensor& t, DType d);

// Max of |a - b| / (1 + |b|) over all elements (host, any real or integer dtype); infinity where
// exactly one of the two is NaN.
double max_rel_diff(const Tensor& a, const Tensor& b);

}  // namespace qf::test

// First statement of every test that needs a GPU: skips it, saying why, where none is usable.
#define QF_SKIP_WITHOUT_GPU()                                                        \
  do {                                                                               \
    if (!::qf::cuda_available()) GTEST_SKIP() << "needs a GPU: " << ::qf::cuda_status(); \
  } while (0)
