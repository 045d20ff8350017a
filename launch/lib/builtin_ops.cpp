#include "launch/lib/builtin_ops.h"

#include "quant/ops/register.h"

namespace qf {

void register_builtin_ops(OpRegistry& reg) {
  register_nn_ops(reg);
  register_quant_ops(reg);
}

void install_builtin_ops() {
  install_op_registry(register_builtin_ops);
}

}  // namespace qf
