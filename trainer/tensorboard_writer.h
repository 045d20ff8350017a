// TensorBoard scalar event files (`--log.tensorboard DIR`), the format `tensorboard --logdir DIR`,
// torch.utils.tensorboard and TensorFlow's summary readers read.
//
// A file DIR/events.out.tfevents.<unix seconds>.<host>.<pid> is a sequence of records:
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) |
//   length bytes of data           | uint32 masked_crc32c(data)
// where masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32) of c = CRC-32C (the
// Castagnoli polynomial, reflected 0x82f63b78, as in iSCSI). Each record's data is one serialized
// Event protobuf (trainer/tensorboard_event.proto): the first carries file_version "brain.Event:2",
// each later one wall_time, step and a Summary with one {tag, simple_value} per scalar.
//
// TensorBoardScalars turns the run's metrics records (trainer/metrics.h) into scalars: each numeric
// field of a record becomes the scalar "<phase>/<field>" at the record's step (docs/metrics.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "trainer/metrics.h"

namespace qf {

// CRC-32C of `n` bytes, and its masked form as the record format stores it.
uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

class TensorBoardWriter {
 public:
  // Creates DIR when missing and a new event file in it (InputError when either cannot be made).
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  const std::string& path() const { return path_; }
  // One scalar; written through at once (a run that dies keeps what it logged).
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time);

 private:
  void write_record(const std::string& data);
  std::string path_;
  FILE* f_ = nullptr;
};

// A MetricsLog sink that writes each record's numeric fields as scalars.
class TensorBoardScalars : public MetricsSink {
 public:
  explicit TensorBoardScalars(const std::string& dir) : writer_(dir) {}
  void write(const nlohmann::json& record) override;
  const std::string& path() const { return writer_.path(); }

 private:
  TensorBoardWriter writer_;
};

}  // namespace qf
