// A structure-aware mutation for protobuf messages, for the ONNX fuzz target: one random change
// to one field of a parsed message, through protobuf reflection. Byte-level mutation of a protobuf
// file mostly yields files that no longer parse; this keeps the file an ONNX model and changes
// what the importer must validate: an attribute's integers (0, -1, INT64_MIN, ...), a float
// (NaN, inf), a name (rewiring nodes), an op type, a dimension, the raw bytes of a tensor, the
// number and order of repeated entries (nodes, inputs, attributes).
#pragma once

#include <google/protobuf/message.h>

#include <random>
#include <string>
#include <vector>

namespace qf::fuzz {

// Applies one random change to `m` (a no-op when `m` has no field to change).
void mutate_message(google::protobuf::Message& m, std::mt19937_64& rng,
                    const std::vector<std::string>& extra_strings);

}  // namespace qf::fuzz
