// Communicator: the collectives data-parallel training needs, behind one interface with three
// backends — local (one process), MPI (host buffers) and NCCL (device buffers).
//
// All calls are collective: every rank calls them in the same order with tensors of the same
// shape. Tensors live on the device the backend serves (host for local and MPI).
#pragma once

#include <memory>
#include <string>

#include "nn/tensor.h"

namespace qf {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place, float32.
  virtual void all_reduce_sum(const Tensor& t) = 0;
  virtual void all_reduce_max(const Tensor& t) = 0;
  virtual void broadcast(const Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Small host-side reductions (metric counts), double precision.
  virtual void all_reduce_sum_host(double* data, size_t n) = 0;
  // Ends every rank's process: a rank that failed calls this so no other rank waits forever in a
  // collective. Never returns.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  bool is_root() const { return rank() == 0; }
};

// One process: every collective is the identity.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void all_reduce_sum(const Tensor&) override {}
  void all_reduce_max(const Tensor&) override {}
  void broadcast(const Tensor&, int) override {}
  void barrier() override {}
  void all_reduce_sum_host(double*, size_t) override {}
  [[noreturn]] void abort(int exit_code) override;
};

}  // namespace qf
