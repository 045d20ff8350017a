// A conv's unit: conv -> [bn_unscale] -> [batch_norm] -> [relu | relu6], each step taken when the
// value so far has exactly one consumer and it is that op. quant_aware places an output observer
// at the unit's end when nothing quantizes it there; convert folds the unit's BatchNorm and gives
// the conv's output the scale of the unit's end (relu and relu6 commute with symmetric
// quantization sharing one threshold, so the int8 model computes what training simulated).
#pragma once

#include <vector>

#include "nn/graph.h"

namespace qf {

struct ConvUnit {
  int bn_unscale = -1;  // node indices, -1 where the unit has no such step
  int batch_norm = -1;
  int activation = -1;
  int last = -1;    // the last node of the unit (the conv itself when it has no other step)
  int bn_end = -1;  // the value after the conv and its BatchNorm (the conv's output without)
  int end = -1;     // the value the unit ends with (after the activation, if any)
};

// `consumers` is g.consumers(). A batch_norm that no bn_unscale precedes belongs to the unit only
// when `plain_batch_norm` (convert leaves it out of the float-grid form, where it is not folded).
ConvUnit conv_unit(const Graph& g, const std::vector<std::vector<int>>& consumers, int conv,
                   bool plain_batch_norm = true);

}  // namespace qf
