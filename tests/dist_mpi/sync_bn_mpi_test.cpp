// SyncBatchNorm on N ranks, each holding B of the N·B samples, against one batch_norm over all
// of them (the reference kernel in double): outputs, running statistics (unbiased with the global
// count), dx of this rank's samples, and dgamma / dbeta summed over ranks. Without the sync
// attribute the same run normalises with this rank's statistics and differs (so the comparison
// can fail).
#include <gtest/gtest.h>

#include "nn/context.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "tests/dist_mpi/mpi_test_util.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

struct BnRun {
  Tensor y, dx, dgamma, dbeta, rmean, rvar;
};

// One training forward and backward of a batch_norm kernel made by `f`.
BnRun run_bn(KernelFactory f, bool reference, const std::vector<Tensor>& inputs, const Tensor& dy,
             Communicator* comm, bool sync) {
  CpuContext ctx(1, reference);
  Node node;
  node.op = "batch_norm";
  node.name = "bn";
  node.attrs.set("momentum", 0.3);
  node.attrs.set("sync", int64_t{sync ? 1 : 0});
  node.inputs = {0, 1, 2, 3, 4};
  node.outputs = {5};
  std::vector<TensorDesc> in;
  for (const Tensor& t : inputs) in.push_back({t.shape(), t.dtype()});
  const std::vector<TensorDesc> out = infer_node(node, in);
  auto k = f(KernelSetup{node, in, out, ctx, true, comm});
  std::vector<Tensor> own;
  for (const Tensor& t : inputs) own.push_back(t.clone());
  BnRun r;
  r.y = Tensor::zeros(out[0].shape, out[0].dtype);
  r.dx = Tensor::zeros(inputs[0].shape(), inputs[0].dtype());
  r.dgamma = Tensor::zeros(inputs[1].shape(), inputs[1].dtype());
  r.dbeta = Tensor::zeros(inputs[2].shape(), inputs[2].dtype());
  Tensor ws = Tensor::zeros({static_cast<int64_t>(k->workspace_bytes()) + 1}, DType::u8);
  const Tensor* in_p[] = {&own[0], &own[1], &own[2], &own[3], &own[4]};
  const Tensor* out_p[] = {&r.y};
  k->forward(ForwardCall{in_p, out_p, Mode::train, {}, ws.raw()});
  const Tensor* dy_p[] = {&dy};
  const Tensor* grads[] = {&r.dx, &r.dgamma, &r.dbeta, nullptr, nullptr};
  k->backward(BackwardCall{in_p, out_p, dy_p, grads, ws.raw()});
  r.rmean = own[3];
  r.rvar = own[4];
  return r;
}

std::vector<Tensor> cast_all(const std::vector<Tensor>& v, DType d) {
  std::vector<Tensor> r;
  for (const Tensor& t : v) r.push_back(to_dtype(t, d));
  return r;
}

TEST(SyncBatchNorm, RanksEqualOneBatchNormOverAllSamples) {
  Communicator& c = world();
  const int W = c.size(), r = c.rank();
  const int64_t B = 3;
  const OpDef& def = op_registry().get("batch_norm");
  for (int64_t C : {5, 16}) {  // 16: the CPU kernel would be oneDNN's without sync
    SCOPED_TRACE(str_cat("C = ", C));
    const Shape full_shape{W * B, C, 4, 3};
    Tensor x = random_tensor(full_shape, 40 + C, 2.0, 5.0);  // mean far from 0
    const Tensor dy = random_tensor(full_shape, 50 + C, -1, 1);
    const std::vector<Tensor> params = {
        random_tensor({C}, 41, 0.5, 1.5), random_tensor({C}, 42, -0.5, 0.5),
        random_tensor({C}, 43, -0.2, 0.2), random_tensor({C}, 44, 0.5, 1.0)};
    // One batch_norm over all W * B samples, in double.
    std::vector<Tensor> full_in = {x};
    full_in.insert(full_in.end(), params.begin(), params.end());
    const BnRun full = run_bn(def.kernels[static_cast<int>(KernelKind::cpu_ref)], true, full_in, dy,
                              nullptr, false);
    const Tensor y_mine = sample_slice(full.y, r * B, (r + 1) * B);
    const Tensor dx_mine = sample_slice(full.dx, r * B, (r + 1) * B);
    std::vector<Tensor> mine_in = {sample_slice(x, r * B, (r + 1) * B)};
    mine_in.insert(mine_in.end(), params.begin(), params.end());
    const Tensor dy_mine = sample_slice(dy, r * B, (r + 1) * B);

    struct Variant {
      const char* name;
      KernelFactory f;
      bool reference;
      DType dtype;
      double tol;
    };
    const Variant variants[] = {
        {"reference f64", def.kernels[static_cast<int>(KernelKind::cpu_ref)], true, DType::f64,
         1e-12},
        {"reference f32", def.kernels[static_cast<int>(KernelKind::cpu_ref)], true, DType::f32,
         1e-5},
        {"cpu f32", def.kernels[static_cast<int>(KernelKind::cpu)], false, DType::f32, 1e-5},
        {"loops f32", make_batch_norm_loops, false, DType::f32, 1e-5}};
    for (const Variant& v : variants) {
      SCOPED_TRACE(v.name);
      const BnRun d = run_bn(v.f, v.reference, cast_all(mine_in, v.dtype),
                             to_dtype(dy_mine, v.dtype), &c, true);
      EXPECT_LE(max_rel_diff(d.y, y_mine), v.tol);
      EXPECT_LE(max_rel_diff(d.rmean, full.rmean), v.tol);
      EXPECT_LE(max_rel_diff(d.rvar, full.rvar), v.tol);
      EXPECT_LE(max_rel_diff(d.dx, dx_mine), v.tol);
      // dgamma and dbeta are this rank's sums; over ranks they make the full batch's.
      Tensor dg = to_dtype(d.dgamma, DType::f64), db = to_dtype(d.dbeta, DType::f64);
      c.all_reduce_sum(dg);
      c.all_reduce_sum(db);
      EXPECT_LE(max_rel_diff(dg, full.dgamma), v.tol);
      EXPECT_LE(max_rel_diff(db, full.dbeta), v.tol);
      EXPECT_TRUE(same_on_all_ranks(d.rvar)) << "running statistics differ between ranks";
    }
    if (W > 1) {  // the same kernel without the attribute: this rank's statistics only
      const BnRun local = run_bn(make_batch_norm_loops, false, cast_all(mine_in, DType::f32),
                                 to_dtype(dy_mine, DType::f32), &c, false);
      EXPECT_GT(max_rel_diff(local.rvar, full.rvar), 1e-3);
      EXPECT_GT(max_rel_diff(local.y, y_mine), 1e-3);
    }
  }
}

}  // namespace
}  // namespace qf::test
