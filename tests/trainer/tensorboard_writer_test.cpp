// TensorBoard event files: CRC-32C against published check values, and a file written by
// TensorBoardWriter read back by a reader written here from the format (record framing, masked
// CRCs, the protobuf wire format of Event / Summary), independent of the generated code.
#include "trainer/tensorboard_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "nn/error.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

TEST(TensorBoard, Crc32cMatchesPublishedCheckValues) {
  EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);  // the CRC catalogue's check value
  const std::string zeros(32, '\0'), ones(32, '\xff');
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8a9136aau);  // RFC 3720, B.4
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62a8ab43u);
  const uint32_t c = crc32c("123456789", 9);
  EXPECT_EQ(masked_crc32c("123456789", 9), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

// A protobuf reader for the few wire types the messages use.
struct Wire {
  const std::string& s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto b = static_cast<unsigned char>(s.at(i++));
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  template <class T>
  T fixed() {
    T v;
    std::memcpy(&v, s.data() + i, sizeof v);
    i += sizeof v;
    return v;
  }
  std::string bytes() {
    const size_t n = varint();
    std::string r = s.substr(i, n);
    i += n;
    return r;
  }
};

struct Scalar {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version, tag;
  float value = 0;
};

Scalar decode_event(const std::string& data) {
  Scalar e;
  Wire w{data};
  while (!w.done()) {
    const uint64_t key = w.varint();
    switch (key) {
      case (1 << 3) | 1:
        e.wall_time = w.fixed<double>();
        break;
      case (2 << 3) | 0:
        e.step = static_cast<int64_t>(w.varint());
        break;
      case (3 << 3) | 2:
        e.file_version = w.bytes();
        break;
      case (5 << 3) | 2: {  // Summary { repeated Value value = 1; }
        const std::string summary = w.bytes();
        Wire sw{summary};
        EXPECT_EQ(sw.varint(), (1u << 3) | 2);
        const std::string value = sw.bytes();
        EXPECT_TRUE(sw.done()) << "one value per event";
        Wire vw{value};
        while (!vw.done()) {
          const uint64_t vk = vw.varint();
          if (vk == ((1 << 3) | 2))
            e.tag = vw.bytes();
          else if (vk == ((2 << 3) | 5))
            e.value = vw.fixed<float>();
          else
            ADD_FAILURE() << "unexpected Value field key " << vk;
        }
        break;
      }
      default:
        ADD_FAILURE() << "unexpected Event field key " << key;
        return e;
    }
  }
  return e;
}

std::vector<Scalar> read_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<Scalar> r;
  size_t i = 0;
  while (i < file.size()) {
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, file.data() + i, 8);
    std::memcpy(&len_crc, file.data() + i + 8, 4);
    EXPECT_EQ(len_crc, masked_crc32c(file.data() + i, 8));
    const std::string data = file.substr(i + 12, len);
    std::memcpy(&data_crc, file.data() + i + 12 + len, 4);
    EXPECT_EQ(data_crc, masked_crc32c(data.data(), data.size()));
    r.push_back(decode_event(data));
    i += 12 + len + 4;
  }
  EXPECT_EQ(i, file.size());
  return r;
}

TEST(TensorBoard, WriterRecordsReadBackByTheFormat) {
  const fs::path dir = fs::temp_directory_path() / ("qf_tb_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::string path;
  {
    TensorBoardScalars tb((dir / "sub").string());  // creates the folder
    path = tb.path();
    EXPECT_NE(fs::path(path).filename().string().find("events.out.tfevents."), std::string::npos);
    tb.write({{"phase", "train"},
              {"epoch", 1},
              {"step", 50},
              {"loss", 0.75},
              {"lr", 0.01},
              {"note", "text is not a scalar"}});
    tb.write({{"phase", "train_eval"},
              {"epoch", 1},
              {"step", 100},
              {"top1", 88.5},
              {"loss", nullptr}});  // a non-finite loss is written as null: no scalar
  }
  const std::vector<Scalar> ev = read_events(path);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].file_version, "brain.Event:2");
  EXPECT_GT(ev[0].wall_time, 1.5e9);
  EXPECT_EQ(ev[1].tag, "train/loss");
  EXPECT_EQ(ev[1].step, 50);
  EXPECT_EQ(ev[1].value, 0.75f);
  EXPECT_EQ(ev[2].tag, "train/lr");
  EXPECT_EQ(ev[2].value, 0.01f);
  EXPECT_EQ(ev[3].tag, "train_eval/top1");
  EXPECT_EQ(ev[3].step, 100);
  EXPECT_EQ(ev[3].value, 88.5f);
  fs::remove_all(dir);
}

TEST(TensorBoard, AFolderThatCannotBeMadeIsAnInputError) {
  EXPECT_THROW(TensorBoardWriter w("/proc/qf_tb"), InputError);
}

}  // namespace
}  // namespace qf
