// Generic op checks used by every op test:
//  - check_gradients: runs the op's reference kernel in double precision and compares its
//    backward with central finite differences of its forward (loss = sum(r * y) for a fixed
//    random r).
//  - check_fast_matches_ref: runs the fast CPU kernel and the reference kernel in float on the same
//    data and compares outputs, updated state inputs and gradients.
// Inputs are given in double; they are converted to float for the fast/reference comparison.
// Test data should keep inputs away from kinks (ReLU at 0, pooling ties): a finite difference
// across a kink means nothing.
#pragma once

#include <optional>
#include <vector>

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
};

// Results of one kernel run.
struct OpRun {
  std::vector<Tensor> outputs;
  std::vector<Tensor> state_after;  // copies of all inputs after forward (state updates)
  std::vector<Tensor> grads;        // per input; undefined where not computed
};

// Runs forward (and backward with upstream gradient `dy`, when given) with the kernel of `kind`.
OpRun run_op(const OpCase& c, KernelKind kind, const std::vector<Tensor>& dy = {});

void check_gradients(const OpCase& c);
void check_fast_matches_ref(const OpCase& c);

// Random tensors (fixed seed per call site through `seed`).
Tensor random_tensor(const Shape& s, uint64_t seed, double lo = -1.0, double hi = 1.0,
                     DType t = DType::f64);
// Values in [lo, hi] at least `gap` away from each of `kinks`.
Tensor random_away_from(const Shape& s, uint64_t seed, double lo, double hi,
                        std::vector<double> kinks, double gap = 0.05);
Tensor to_dtype(const Tensor& t, DType d);

// Max of |a - b| / (1 + |b|) over all elements (host, any real dtype).
double max_rel_diff(const Tensor& a, const Tensor& b);

}  // namespace qf::test
