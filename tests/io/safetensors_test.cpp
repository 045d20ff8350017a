// safetensors: round trips of every dtype and of edge shapes, metadata, the exact bytes of a small
// file (pinning the layout other readers rely on), F16/BF16/BOOL reading against bit patterns taken
// from PyTorch, and one InputError naming the file for each way a file can be malformed.
#include "io/safetensors.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tests/io/temp_dir.h"

namespace qf::test {
namespace {

// A safetensors file from a header text and a data buffer, built without the code under test.
std::string st_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

template <class T>
Tensor typed(const Shape& shape, const std::vector<T>& values) {
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  EXPECT_EQ(static_cast<int64_t>(values.size()), t.numel());
  if (!values.empty()) std::memcpy(t.raw(), values.data(), t.nbytes());  // data() may be null
  return t;
}

void expect_same(const Tensor& got, const Tensor& want, const std::string& name) {
  ASSERT_TRUE(got.defined()) << name;
  EXPECT_EQ(got.dtype(), want.dtype()) << name;
  EXPECT_EQ(got.shape(), want.shape()) << name;
  ASSERT_EQ(got.nbytes(), want.nbytes()) << name;
  EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << name << ": bytes differ";
}

void expect_round_trip(const std::string& path, const TensorMap& tensors) {
  save_safetensors(path, tensors);
  const TensorMap back = load_safetensors(path);
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(back.count(name)) << name << " missing after the round trip";
    expect_same(back.at(name), t, name);
  }
}

TEST(Safetensors, RoundTripsEveryDType) {
  TempDir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  TensorMap tensors;
  tensors["f32"] = typed<float>({2, 3}, {0.f, -1.5f, 3.25e-30f, nan, INFINITY, -0.f});
  tensors["f64"] = typed<double>({3}, {1e300, -2.5, std::numeric_limits<double>::denorm_min()});
  tensors["i8"] = typed<int8_t>({2, 2}, {-128, 127, 0, -1});
  tensors["u8"] = typed<uint8_t>({5}, {0, 1, 128, 254, 255});
  tensors["i16"] = typed<int16_t>({1, 1, 3}, {-32768, 32767, 7});
  tensors["i32"] = typed<int32_t>({2}, {std::numeric_limits<int32_t>::min(), 123456789});
  tensors["i64"] = typed<int64_t>({2}, {std::numeric_limits<int64_t>::max(), -42});
  expect_round_trip(dir.file("all.safetensors"), tensors);
}

TEST(Safetensors, RoundTripsRankZeroAndEmptyTensors) {
  TempDir dir;
  TensorMap tensors;
  tensors["scalar"] = typed<float>({}, {2.5f});
  tensors["empty"] = typed<float>({0}, {});
  tensors["empty3d"] = typed<int64_t>({3, 0, 2}, {});
  tensors["zz_after"] = typed<int8_t>({3}, {1, 2, 3});
  expect_round_trip(dir.file("edge.safetensors"), tensors);

  // Only empty tensors: a data buffer of zero bytes; no tensors at all.
  expect_round_trip(dir.file("only_empty.safetensors"), {{"e", typed<double>({0, 4}, {})}});
  expect_round_trip(dir.file("none.safetensors"), {});
}

TEST(Safetensors, RoundTripsMetadata) {
  TempDir dir;
  const std::string path = dir.file("meta.safetensors");
  const StringMap meta = {{"format", "pt"}, {"quote\"and\\slash", "line\nbreak"}, {"ü", "✓"}};
  save_safetensors(path, {{"w", typed<float>({1}, {1.f})}}, meta);
  StringMap back = {{"stale", "entry"}};
  load_safetensors(path, &back);
  EXPECT_EQ(back, meta);

  // A file without "__metadata__" gives an empty map, not the caller's old contents.
  save_safetensors(path, {{"w", typed<float>({1}, {1.f})}});
  load_safetensors(path, &back);
  EXPECT_TRUE(back.empty());
}

TEST(Safetensors, WritesExactBytes) {
  TempDir dir;
  const std::string path = dir.file("tiny.safetensors");
  // Inserted out of order: the file lists (and stores) tensors sorted by name.
  save_safetensors(path, {{"w8", typed<int8_t>({2}, {1, -2})}, {"a", typed<float>({}, {1.5f})}},
                   {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
      R"("w8":{"dtype":"I8","shape":[2],"data_offsets":[4,6]}})"
      "       ";  // 137 bytes of JSON padded with spaces to 144, a multiple of 8
  ASSERT_EQ(header.size(), 144u);
  const std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x00\x00\xc0\x3f", 4) +  // 1.5f little-endian
                               std::string("\x01\xfe", 2);           // int8 1, -2
  EXPECT_EQ(read_raw(path), expected);
}

TEST(Safetensors, ReadsFilesLaidOutByOtherWriters) {
  // As the reference writer lays files out: data sorted by alignment rather than by name, metadata
  // after the tensors here, and a header that is not padded.
  TempDir dir;
  const std::string path = dir.file("other.safetensors");
  const std::string header = R"({"z.weight":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
                             R"("a.bias":{"dtype":"I16","shape":[1,2],"data_offsets":[8,12]},)"
                             R"("__metadata__":{"format":"pt"}})";
  std::string data(12, '\0');
  const double d = -0.75;
  const int16_t s[2] = {-3, 300};
  std::memcpy(data.data(), &d, 8);
  std::memcpy(data.data() + 8, s, 4);
  write_raw(path, st_bytes(header, data));
  StringMap meta;
  const TensorMap t = load_safetensors(path, &meta);
  ASSERT_EQ(t.size(), 2u);
  expect_same(t.at("z.weight"), typed<double>({1}, {-0.75}), "z.weight");
  expect_same(t.at("a.bias"), typed<int16_t>({1, 2}, {-3, 300}), "a.bias");
  EXPECT_EQ(meta, (StringMap{{"format", "pt"}}));
}

// Bit patterns from torch.tensor([...], dtype=torch.float16 / torch.bfloat16).view(torch.int16).
TEST(Safetensors, WidensHalfPrecisionAndReadsBool) {
  TempDir dir;
  const std::string path = dir.file("half.safetensors");
  const std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400,
                                     0x0001, 0x03ff, 0x7c00, 0x8000, 0x7e00};
  const std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x4049, 0xff80, 0x0001};
  const std::string header = R"({"h":{"dtype":"F16","shape":[2,5],"data_offsets":[0,20]},)"
                             R"("b":{"dtype":"BF16","shape":[5],"data_offsets":[20,30]},)"
                             R"("m":{"dtype":"BOOL","shape":[3],"data_offsets":[30,33]}})";
  std::string data(33, '\0');
  std::memcpy(data.data(), f16.data(), 20);
  std::memcpy(data.data() + 20, bf16.data(), 10);
  data.replace(30, 3, std::string("\x01\x00\x01", 3));
  write_raw(path, st_bytes(header, data));
  const TensorMap t = load_safetensors(path);

  const Tensor& h = t.at("h");
  ASSERT_EQ(h.dtype(), DType::f32);
  EXPECT_EQ(h.shape(), (Shape{2, 5}));
  const float* hv = h.data<float>();
  const std::vector<float> want_h = {
      1.f, -2.f, 0.5f, 65504.f, 0x1p-14f, 0x1p-24f, 1023 * 0x1p-24f, INFINITY, -0.f};
  for (size_t i = 0; i < want_h.size(); ++i) EXPECT_EQ(hv[i], want_h[i]) << "f16 #" << i;
  EXPECT_TRUE(std::signbit(hv[8]));
  EXPECT_TRUE(std::isnan(hv[9]));

  const Tensor& b = t.at("b");
  ASSERT_EQ(b.dtype(), DType::f32);
  const std::vector<float> want_b = {1.f, -2.f, 3.140625f, -INFINITY, 0x1p-133f};
  for (size_t i = 0; i < want_b.size(); ++i)
    EXPECT_EQ(b.data<float>()[i], want_b[i]) << "bf16 #" << i;

  expect_same(t.at("m"), typed<uint8_t>({3}, {1, 0, 1}), "m");
}

struct BadFile {
  const char* name;
  std::string bytes;
  const char* detail;  // a phrase the message must contain
};

void PrintTo(const BadFile& c, std::ostream* os) {
  *os << c.name;
}

const std::string kGood = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

std::vector<BadFile> bad_files() {
  auto one = [](const std::string& entry, size_t data_bytes) {
    return st_bytes(R"({"w":)" + entry + "}", std::string(data_bytes, '\0'));
  };
  return {
      {"Empty", "", "too short"},
      {"ShortLength", std::string(5, '\0'), "too short"},
      {"HeaderPastEnd", st_bytes(kGood, std::string(8, '\0')).replace(0, 2, "\xff\x03"),
       "header length 1023 is larger"},
      {"TruncatedData", st_bytes(kGood, std::string(4, '\0')), "reach past the data buffer"},
      {"NotJson", st_bytes("{\"w\": [1,", ""), "not valid JSON"},
      {"NotObject", st_bytes("[1, 2]  ", ""), "must be a JSON object"},
      {"EntryNotObject", st_bytes(R"({"w": 3})", ""), "must be an object"},
      {"MissingField", one(R"({"dtype":"F32","shape":[2]})", 8), "no \"data_offsets\""},
      {"UnknownDType", one(R"({"dtype":"C64","shape":[2],"data_offsets":[0,8]})", 8),
       "unknown dtype \"C64\""},
      {"NegativeDim", one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", 8),
       "non-negative integer"},
      {"FractionalOffset", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8.0]})", 8),
       "non-negative integer"},
      {"OffsetsNotPair", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", 8),
       "must be [begin, end]"},
      {"EndBeforeBegin", one(R"({"dtype":"U8","shape":[0],"data_offsets":[8,0]})", 8),
       "end before begin"},
      {"SizeMismatch", one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})", 8), "needs 12"},
      {"HugeShape",
       one(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]})", 8),
       "too large"},
      {"Hole",
       st_bytes(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                R"("b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                std::string(6, '\0')),
       "[2, 4) belong to no tensor"},
      {"TrailingBytes", st_bytes(kGood, std::string(10, '\0')), "[8, 10) belong to no tensor"},
      {"Overlap",
       st_bytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                std::string(4, '\0')),
       "'a' and 'b' overlap"},
      {"MetadataNotStrings",
       st_bytes(
           R"({"__metadata__":{"epoch":3},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
           std::string(8, '\0')),
       "entry 'epoch' must be a string"},
  };
}

class MalformedSafetensors : public ::testing::TestWithParam<BadFile> {};

TEST_P(MalformedSafetensors, IsAnInputErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.file(std::string(GetParam().name) + ".safetensors");
  write_raw(path, GetParam().bytes);
  expect_input_error([&] { load_safetensors(path); }, path, GetParam().detail);
}

INSTANTIATE_TEST_SUITE_P(All, MalformedSafetensors, ::testing::ValuesIn(bad_files()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Safetensors, MissingFileAndDirectoryAreInputErrors) {
  TempDir dir;
  const std::string missing = dir.file("nope.safetensors");
  expect_input_error([&] { load_safetensors(missing); }, missing, "does not exist");
  expect_input_error([&] { load_safetensors(dir.path().string()); }, dir.path().string(),
                     "is a directory, not a regular file");
}

// A FIFO would block open() until a writer comes: it is refused at once instead.
TEST(Safetensors, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string fifo = dir.file("w.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_input_error([&] { load_safetensors(fifo); }, fifo, "is a FIFO (named pipe)");
}

TEST(Safetensors, SaveRejectsReservedNameAndMissingDirectory) {
  TempDir dir;
  const std::string path = dir.file("r.safetensors");
  expect_input_error(
      [&] {
        save_safetensors(path, {{"__metadata__", typed<float>({1}, {0.f})}});
      },
      path, "cannot name a tensor");
  const std::string nodir = dir.file("no/such/dir/w.safetensors");
  expect_input_error(
      [&] {
        save_safetensors(nodir, {{"w", typed<float>({1}, {0.f})}});
      },
      nodir, "No such file");
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "a failed save left files behind";
}

}  // namespace
}  // namespace qf::test
