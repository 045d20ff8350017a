// Strided copies: the fast CPU kernels of the data-movement ops that pick elements by an affine
// index map (transpose, slice).
//
// A StridedMap describes a contiguous tensor D walked in its memory order over `dims` (outermost
// first) and, for each of its elements, the element of another tensor S it corresponds to:
//   offset_S(i_0, ..., i_{k-1}) = base + sum_d i_d * strides[d]      (strides in elements, any sign)
// gather copies S -> D (D[i] = S[offset(i)]), scatter copies D -> S (S[offset(i)] = D[i]); the
// backward of a gather is a scatter of the gradient. Neighbouring dimensions that are also
// neighbours in S are merged first, so a copy whose innermost dimension is contiguous in S moves
// whole runs with memcpy; otherwise it moves elements. Elements are moved by size (1, 2, 4 or 8
// bytes), so int8 activations go through the same code as floats. Threaded over the outer
// dimensions for large tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qf {

struct StridedMap {
  std::vector<int64_t> dims;     // D's memory dimensions, outermost first
  std::vector<int64_t> strides;  // S's element stride per dimension of `dims`
  int64_t base = 0;              // offset in S of D's first element
};

// The same map with size-1 dimensions dropped and mergeable neighbours merged.
StridedMap coalesce(const StridedMap& m);

// D[i] = S[offset(i)] for every element i of D.
void strided_gather(const void* s, void* d, const StridedMap& m, size_t elem);
// S[offset(i)] = D[i] for every element i of D; elements of S that no i reaches are left as they are.
void strided_scatter(const void* d, void* s, const StridedMap& m, size_t elem);

// Memory strides (in elements) of each LOGICAL axis of a tensor of logical shape `s` as qforge
// stores it (nn/layout.h: 4-D channels-last, other ranks row-major).
std::vector<int64_t> logical_strides(const std::vector<int64_t>& s);
// The logical axis stored at each memory position (4-D: 0, 2, 3, 1; else the identity).
std::vector<int64_t> memory_axis_order(size_t rank);

}  // namespace qf
