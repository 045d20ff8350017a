// batch_norm: op definition and the plain reference kernel (math in
// nn/ops/batch_norm/batch_norm.h).
#include "nn/ops/batch_norm/batch_norm.h"

#include <cmath>
#include <vector>

#include "nn/communicator.h"
#include "nn/ops/op_util.h"

namespace qf {

BnGeom bn_geom(const Node& node, std::span<const TensorDesc> in) {
  const Shape& x = in[0].shape;
  if (x.size() != 4 && x.size() != 2)
    shape_error(node, str_cat("input must be (N, C, H, W) or (N, C), got ", shape_str(x)));
  BnGeom g{x[0], x[1], x.size() == 4 ? x[2] * x[3] : 1, 0, 0, false, false};
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
  const int64_t sync = node.attrs.get_int("sync", 0);
  if (sync != 0 && sync != 1) shape_error(node, str_cat("sync must be 0 or 1, got ", sync));
  g.sync = sync == 1;
  return g;
}

Communicator* bn_sync_comm(const KernelSetup& s, const BnGeom& g) {
  const bool sync = g.sync && s.training && !g.use_running_stats && s.comm && s.comm->size() > 1;
  return sync ? s.comm : nullptr;
}

int mark_sync_batch_norm(Graph& g) {
  int n = 0;
  for (Node& node : g.nodes())
    if (node.op == "batch_norm") {
      node.attrs.set("sync", int64_t{1});
      ++n;
    }
  return n;
}

namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  bn_geom(node, in);
  return {in[0]};
}

class BatchNormRef final : public Kernel {
 public:
  explicit BatchNormRef(const KernelSetup& s)
      : name_(s.node.name),
        g_(bn_geom(s.node, s.in)),
        comm_(bn_sync_comm(s, g_)),
        mean_(g_.C),
        istd_(g_.C) {
    if (comm_) sums_ = Tensor::empty({2 * g_.C + 1}, DType::f64);
  }

  void forward(const ForwardCall& c) override {
    batch_ = c.mode == Mode::train && !g_.use_running_stats;
    const bool sync = batch_ && comm_;
    const int64_t M = g_.count(), C = g_.C;
    if (batch_ && !sync && M < 2)
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
      // Per channel: the count, the mean and sum (x - mean)^2, over this rank or over all ranks.
      std::vector<T> mean(C), q(C);
      T count = static_cast<T>(M);
      for (int64_t ch = 0; ch < C && batch_; ++ch) {
        T s = 0;
        for (int64_t i = 0; i < M; ++i) s += x[i * C + ch];
        mean[ch] = s;
      }
      if (sync) {  // sum x and the count over ranks
        double* buf = sums_.data<double>();
        for (int64_t ch = 0; ch < C; ++ch) buf[ch] = static_cast<double>(mean[ch]);
        buf[C] = static_cast<double>(M);
        comm_->all_reduce_sum(sums_.view(0, {C + 1}, DType::f64));
        count = static_cast<T>(buf[C]);
        if (count < 2)
          throw_input_error("node '", name_, "' (batch_norm): training needs more than one value ",
                            "per channel over all ranks, has ", buf[C]);
        for (int64_t ch = 0; ch < C; ++ch) mean[ch] = static_cast<T>(buf[ch]);
      }
      for (int64_t ch = 0; ch < C && batch_; ++ch) {
        mean[ch] /= count;
        T s = 0;
        for (int64_t i = 0; i < M; ++i) {
          const T d = x[i * C + ch] - mean[ch];
          s += d * d;
        }
        q[ch] = s;
      }
      if (sync) {
        double* buf = sums_.data<double>();
        for (int64_t ch = 0; ch < C; ++ch) buf[ch] = static_cast<double>(q[ch]);
        comm_->all_reduce_sum(sums_.view(0, {C}, DType::f64));
        for (int64_t ch = 0; ch < C; ++ch) q[ch] = static_cast<T>(buf[ch]);
      }
      count_ = static_cast<double>(count);
      for (int64_t ch = 0; ch < C; ++ch) {
        T m, var;
        if (batch_) {
          m = mean[ch];
          var = q[ch] / count;
          rmean[ch] = (T(1) - mom) * rmean[ch] + mom * m;
          rvar[ch] = (T(1) - mom) * rvar[ch] + mom * q[ch] / (count - T(1));
        } else {
          m = rmean[ch];
          var = rvar[ch];
        }
        const T istd = T(1) / std::sqrt(var + eps);
        mean_[ch] = static_cast<double>(m);
        istd_[ch] = static_cast<double>(istd);
        for (int64_t i = 0; i < M; ++i)
          y[i * C + ch] = gamma[ch] * (x[i * C + ch] - m) * istd + beta[ch];
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
      std::vector<T> sdy(C), sdyx(C);
      for (int64_t ch = 0; ch < C; ++ch) {
        const T mean = static_cast<T>(mean_[ch]), istd = static_cast<T>(istd_[ch]);
        for (int64_t i = 0; i < M; ++i) {
          sdy[ch] += dy[i * C + ch];
          sdyx[ch] += dy[i * C + ch] * (x[i * C + ch] - mean) * istd;
        }
        if (dgamma) dgamma[ch] = sdyx[ch];  // this rank's sums (see the header)
        if (dbeta) dbeta[ch] = sdy[ch];
      }
      if (!dx) return;
      if (batch_ && comm_) {
        double* buf = sums_.data<double>();
        for (int64_t ch = 0; ch < C; ++ch) {
          buf[ch] = static_cast<double>(sdy[ch]);
          buf[C + ch] = static_cast<double>(sdyx[ch]);
        }
        comm_->all_reduce_sum(sums_.view(0, {2 * C}, DType::f64));
        for (int64_t ch = 0; ch < C; ++ch) {
          sdy[ch] = static_cast<T>(buf[ch]);
          sdyx[ch] = static_cast<T>(buf[C + ch]);
        }
      }
      const T count = static_cast<T>(count_);
      for (int64_t ch = 0; ch < C; ++ch) {
        const T mean = static_cast<T>(mean_[ch]), istd = static_cast<T>(istd_[ch]);
        const T k = gamma[ch] * istd;
        for (int64_t i = 0; i < M; ++i) {
          const T d = dy[i * C + ch];
          dx[i * C + ch] =
              batch_ ? k * (d - sdy[ch] / count - (x[i * C + ch] - mean) * istd * sdyx[ch] / count)
                     : k * d;
        }
      }
    });
  }

 private:
  std::string name_;
  BnGeom g_;
  Communicator* comm_;               // SyncBatchNorm's ranks, or null
  Tensor sums_;                      // f64 buffer for the cross-rank sums
  std::vector<double> mean_, istd_;  // statistics of the last forward
  double count_ = 0;                 // values per channel they came from (all ranks with sync)
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
  d.backward_reads_outputs = 0;  // backward reads x, gamma and the batch statistics it kept
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_batch_norm_cpu;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<BatchNormRef>;
  reg.add(std::move(d));
}

}  // namespace qf
