// PACT's formulas, written once for the CPU kernels (pact.cpp) and the CUDA kernels
// (pact_cuda.cu): y = clip(x, -alpha, alpha); Paddle's relu'(0) = 0 makes the boundary count as
// inside, so dx = dy on [-alpha, alpha] and dalpha collects dy above alpha and -dy below -alpha.
#pragma once

#include "nn/kernels/host_device.h"

namespace qf {

template <class T>
QF_HOST_DEVICE inline T pact_clip(T x, T a) {
  return x < -a ? -a : (x > a ? a : x);
}

template <class T>
QF_HOST_DEVICE inline T pact_dx(T x, T a, T dy) {
  return x >= -a && x <= a ? dy : T(0);
}

// One element's share of dalpha.
template <class T>
QF_HOST_DEVICE inline T pact_dalpha_term(T x, T a, T dy) {
  return x > a ? dy : (x < -a ? -dy : T(0));
}

}  // namespace qf
