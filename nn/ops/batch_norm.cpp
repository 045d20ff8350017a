// batch_norm: op definition and the plain reference kernel (math in nn/ops/batch_norm.h).
#include "nn/ops/batch_norm.h"

#include <cmath>
#include <vector>

#include "nn/ops/op_util.h"

namespace qf {

BnGeom bn_geom(const Node& node, std::span<const TensorDesc> in) {
  const Shape& x = in[0].shape;
  if (x.size() != 4 && x.size() != 2)
    shape_error(node, str_cat("input must be (N, C, H, W) or (N, C), got ", shape_str(x)));
  BnGeom g{x[0], x[1], x.size() == 4 ? x[2] * x[3] : 1, 0, 0, false};
  static const char* names[] = {"input", "gamma", "beta", "running_mean", "running_var"};
  for (int i = 1; i < 5; ++i) {
    if (in[i].shape != Shape{g.C})
      shape_error(node, str_cat(names[i], " must have shape [", g.C, "] for input ", shape_str(x),
                                ", got ", shape_str(in[i].shape)));
    if (in[i].dtype != in[0].dtype)
      shape_error(node, str_cat(names[i], " is ", dtype_name(in[i].dtype), ", input is ",
                                dtype_name(in[0].dtype)));
  }
  g.epsilon = node.attrs.get_float("epsilon", 1e-5);
  g.momentum = node.attrs.get_float("momentum", 0.1);
  const int64_t frozen = node.attrs.get_int("use_running_stats", 0);
  if (!(g.epsilon >= 0)) shape_error(node, str_cat("epsilon must be >= 0, got ", g.epsilon));
  if (!(g.momentum >= 0 && g.momentum <= 1))
    shape_error(node, str_cat("momentum must be in [0, 1], got ", g.momentum));
  if (frozen != 0 && frozen != 1)
    shape_error(node, str_cat("use_running_stats must be 0 or 1, got ", frozen));
  g.use_running_stats = frozen == 1;
  return g;
}

namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  bn_geom(node, in);
  return {in[0]};
}

class BatchNormRef final : public Kernel {
 public:
  explicit BatchNormRef(const KernelSetup& s)
      : name_(s.node.name), g_(bn_geom(s.node, s.in)), mean_(g_.C), istd_(g_.C) {}

  void forward(const ForwardCall& c) override {
    batch_ = c.mode == Mode::train && !g_.use_running_stats;
    const int64_t M = g_.count(), C = g_.C;
    if (batch_ && M < 2)
      throw_input_error("node '", name_, "' (batch_norm): training needs more than one value per ",
                        "channel, input has ", M);
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T* gamma = c.in[1]->data<T>();
      const T* beta = c.in[2]->data<T>();
      T* rmean = c.in[3]->data<T>();
      T* rvar = c.in[4]->data<T>();
      T* y = c.out[0]->data<T>();
      const T eps = static_cast<T>(g_.epsilon), mom = static_cast<T>(g_.momentum);
      for (int64_t ch = 0; ch < C; ++ch) {
        T mean, var;
        if (batch_) {
          T s = 0;
          for (int64_t i = 0; i < M; ++i) s += x[i * C + ch];
          mean = s / static_cast<T>(M);
          T q = 0;
          for (int64_t i = 0; i < M; ++i) q += (x[i * C + ch] - mean) * (x[i * C + ch] - mean);
          var = q / static_cast<T>(M);
          rmean[ch] = (T(1) - mom) * rmean[ch] + mom * mean;
          rvar[ch] = (T(1) - mom) * rvar[ch] + mom * q / static_cast<T>(M - 1);
        } else {
          mean = rmean[ch];
          var = rvar[ch];
        }
        const T istd = T(1) / std::sqrt(var + eps);
        mean_[ch] = static_cast<double>(mean);
        istd_[ch] = static_cast<double>(istd);
        for (int64_t i = 0; i < M; ++i)
          y[i * C + ch] = gamma[ch] * (x[i * C + ch] - mean) * istd + beta[ch];
      }
    });
  }

  void backward(const BackwardCall& c) override {
    const int64_t M = g_.count(), C = g_.C;
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T* gamma = c.in[1]->data<T>();
      const T* dy = c.grad_out[0]->data<T>();
      T* dx = mut_ptr<T>(c.grad_in[0]);
      T* dgamma = mut_ptr<T>(c.grad_in[1]);
      T* dbeta = mut_ptr<T>(c.grad_in[2]);
      for (int64_t ch = 0; ch < C; ++ch) {
        const T mean = static_cast<T>(mean_[ch]), istd = static_cast<T>(istd_[ch]);
        T sdy = 0, sdyx = 0;
        for (int64_t i = 0; i < M; ++i) {
          sdy += dy[i * C + ch];
          sdyx += dy[i * C + ch] * (x[i * C + ch] - mean) * istd;
        }
        if (dgamma) dgamma[ch] = sdyx;
        if (dbeta) dbeta[ch] = sdy;
        if (!dx) continue;
        const T k = gamma[ch] * istd;
        for (int64_t i = 0; i < M; ++i) {
          const T d = dy[i * C + ch];
          dx[i * C + ch] = batch_ ? k * (d - sdy / static_cast<T>(M) -
                                         (x[i * C + ch] - mean) * istd * sdyx / static_cast<T>(M))
                                  : k * d;
        }
      }
    });
  }

 private:
  std::string name_;
  BnGeom g_;
  std::vector<double> mean_, istd_;  // statistics of the last forward
  bool batch_ = false;               // the last forward normalised with batch statistics
};

}  // namespace

void register_batch_norm(OpRegistry& reg) {
  OpDef d;
  d.type = "batch_norm";
  d.min_inputs = 5;
  d.max_inputs = 5;
  d.state_inputs = {3, 4};
  d.infer = infer;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_batch_norm_cpu;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<BatchNormRef>;
  reg.add(std::move(d));
}

}  // namespace qf
