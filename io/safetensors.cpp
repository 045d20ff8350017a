// safetensors reading and writing (see io/safetensors.h).
//
// File layout (all integers little-endian):
//   [0, 8)          N: u64, length of the JSON header
//   [8, 8 + N)      JSON object: {"__metadata__": {str: str}?,
//                                 name: {"dtype": "F32", "shape": [d0, ...], "data_offsets": [b,
//                                 e]}}
//   [8 + N, size)   data buffer; tensor `name` holds bytes [b, e) of it, row-major.
// Every tensor needs e - b == numel(shape) * sizeof(dtype), and the tensors together cover the
// data buffer exactly: no holes, no overlaps, nothing after the last one.
//
// Writing: "__metadata__" first (left out when empty), then tensors sorted by name, their data in
// the same order; the header is padded with spaces so that 8 + N is a multiple of 8, as the
// reference implementation does. The same inputs always give the same bytes.
// Reading: F32 F64 I8 U8 I16 I32 I64 load as such, F16 and BF16 widen to float32, BOOL loads as
// uint8. Every inconsistency is an InputError naming the file.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/atomic_file.h"
#include "io/json_text.h"
#include "nn/input_file.h"

namespace qf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swapping");

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// A dtype as the file names it, and what it loads as.
struct FileDType {
  const char* name;
  size_t size;  // bytes per element in the file
  DType loads_as;
  enum class Widen { none, f16, bf16 } widen;
};

constexpr FileDType kFileDTypes[] = {
    {"F32", 4, DType::f32, FileDType::Widen::none},  {"F64", 8, DType::f64, FileDType::Widen::none},
    {"I8", 1, DType::i8, FileDType::Widen::none},    {"U8", 1, DType::u8, FileDType::Widen::none},
    {"I16", 2, DType::i16, FileDType::Widen::none},  {"I32", 4, DType::i32, FileDType::Widen::none},
    {"I64", 8, DType::i64, FileDType::Widen::none},  {"F16", 2, DType::f32, FileDType::Widen::f16},
    {"BF16", 2, DType::f32, FileDType::Widen::bf16}, {"BOOL", 1, DType::u8, FileDType::Widen::none},
};
constexpr const char* kAllowedDTypes = "F32, F64, I8, U8, I16, I32, I64, F16, BF16, BOOL";

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i8:
      return "I8";
    case DType::u8:
      return "U8";
    case DType::i16:
      return "I16";
    case DType::i32:
      return "I32";
    case DType::i64:
      return "I64";
  }
  QF_CHECK(false, "dtype ", static_cast<int>(t), " has no safetensors name");
  return "";
}

template <class... Args>
[[noreturn]] void bad_file(const std::string& path, const Args&... args) {
  throw_input_error("safetensors file '", path, "': ", args...);
}

// IEEE binary16 -> binary32, exact (every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    const float mag = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -mag : mag;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf, nan
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

float bf16_to_float(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// Reads exactly `n` bytes at `offset`.
void pread_exact(int fd, const std::string& path, void* dst, size_t n, uint64_t offset) {
  char* p = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_input_error("cannot read '", path, "': ", std::strerror(errno));
    if (got == 0) bad_file(path, "ends early at byte ", offset, " (was it changed while read?)");
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

struct Entry {
  std::string name;
  const FileDType* dtype;
  Shape shape;
  uint64_t begin, end;
};

uint64_t json_uint(const std::string& path, const std::string& what, const json& v) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    bad_file(path, what, " must be a non-negative integer, got ", json_excerpt(v));
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& path, const std::string& name, const json& j) {
  const std::string where = "tensor '" + name + "'";
  if (!j.is_object()) bad_file(path, where, " must be an object, got ", json_excerpt(j));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) bad_file(path, where, " has no \"", key, "\"");
  Entry e;
  e.name = name;

  const json& dt = j["dtype"];
  e.dtype = nullptr;
  for (const FileDType& f : kFileDTypes)
    if (dt.is_string() && dt.get<std::string>() == f.name) e.dtype = &f;
  if (!e.dtype)
    bad_file(path, where, ": unknown dtype ", json_excerpt(dt), " (allowed: ", kAllowedDTypes, ")");

  const json& shape = j["shape"];
  if (!shape.is_array()) bad_file(path, where, ": \"shape\" must be an array, got ", json_excerpt(shape));
  for (const json& d : shape)
    e.shape.push_back(static_cast<int64_t>(json_uint(path, where + " shape entry", d)));
  const std::optional<int64_t> n = checked_numel(e.shape);
  const std::optional<int64_t> nbytes =
      n ? checked_mul(*n, static_cast<int64_t>(e.dtype->size)) : std::nullopt;
  if (!nbytes) bad_file(path, where, ": shape ", shape_str(e.shape), " is too large");
  const uint64_t bytes = static_cast<uint64_t>(*nbytes);

  const json& off = j["data_offsets"];
  if (!off.is_array() || off.size() != 2)
    bad_file(path, where, ": \"data_offsets\" must be [begin, end], got ", json_excerpt(off));
  e.begin = json_uint(path, where + " data_offsets begin", off[0]);
  e.end = json_uint(path, where + " data_offsets end", off[1]);
  if (e.end < e.begin) bad_file(path, where, ": data_offsets ", json_excerpt(off), " end before begin");
  if (e.end - e.begin != bytes)
    bad_file(path, where, ": data_offsets ", json_excerpt(off), " hold ", e.end - e.begin,
             " bytes, but shape ", shape_str(e.shape), " of ", e.dtype->name, " needs ", bytes);
  return e;
}

// The tensors must tile [0, data_size) exactly.
void check_coverage(const std::string& path, std::vector<Entry> entries, uint64_t data_size) {
  for (const Entry& e : entries)
    if (e.end > data_size)
      bad_file(path, "tensor '", e.name, "': data_offsets [", e.begin, ", ", e.end,
               "] reach past the data buffer of ", data_size, " bytes");
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Entry* last = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered)
      bad_file(path, "tensors '", last->name, "' and '", e.name, "' overlap in the data buffer");
    if (e.begin > covered)
      bad_file(path, "data bytes [", covered, ", ", e.begin, ") belong to no tensor");
    covered = e.end;
    last = &e;
  }
  if (covered != data_size)
    bad_file(path, "data bytes [", covered, ", ", data_size, ") belong to no tensor");
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const StringMap& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {  // std::map: sorted by name
    if (name == "__metadata__")
      throw_input_error("safetensors file '", path, "': '__metadata__' cannot name a tensor");
    QF_CHECK(t.defined(), "tensor '", name, "' is undefined");
    QF_CHECK(t.device().is_cpu(), "tensor '", name, "' is on ", t.device().str(),
             "; copy it to the host before saving");
    header[name] = {{"dtype", file_dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // non-UTF-8 names or metadata
    throw_input_error("safetensors file '", path,
                      "': tensor names and metadata must be UTF-8: ", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  write_file_atomically(path, [&](const std::string& tmp) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
    if (!f) throw_input_error("cannot open '", tmp, "': ", std::strerror(errno));
    auto put = [&](const void* p, size_t n) {
      if (n > 0 && std::fwrite(p, 1, n, f.get()) != n)
        throw_input_error("cannot write '", tmp, "': ", std::strerror(errno));
    };
    const uint64_t n = text.size();
    put(&n, sizeof n);
    put(text.data(), text.size());
    for (const auto& [name, t] : tensors) put(t.raw(), t.nbytes());
    if (std::fclose(f.release()) != 0)
      throw_input_error("cannot write '", tmp, "': ", std::strerror(errno));
  });
}

TensorMap load_safetensors(const std::string& path, StringMap* metadata) {
  const int fd = open_input_file(path, "safetensors file");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_input_error("cannot stat '", path, "': ", std::strerror(errno));
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  if (file_size < 8)
    bad_file(path, "is ", file_size, " bytes, too short for the 8-byte header length");
  uint64_t header_size = 0;
  pread_exact(fd, path, &header_size, 8, 0);
  if (header_size > file_size - 8)
    bad_file(path, "header length ", header_size, " is larger than the ", file_size - 8,
             " bytes after it (not a safetensors file, or truncated)");
  std::string text(header_size, '\0');
  pread_exact(fd, path, text.data(), text.size(), 8);

  const json header = parse_json_text(text, "safetensors file '" + path + "': header");
  if (!header.is_object()) bad_file(path, "header must be a JSON object, got ", header.type_name());

  std::vector<Entry> entries;
  StringMap meta;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) bad_file(path, "\"__metadata__\" must be an object of strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string())
          bad_file(path, "\"__metadata__\" entry '", k, "' must be a string, got ", json_excerpt(v));
        meta[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, key, value));
  }
  const uint64_t data_start = 8 + header_size;
  check_coverage(path, entries, file_size - data_start);

  TensorMap out;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype->loads_as);
    const size_t bytes = static_cast<size_t>(e.end - e.begin);
    if (e.dtype->widen == FileDType::Widen::none) {
      pread_exact(fd, path, t.raw(), bytes, data_start + e.begin);
    } else {
      std::vector<uint16_t> half(static_cast<size_t>(t.numel()));
      pread_exact(fd, path, half.data(), bytes, data_start + e.begin);
      float* dst = t.data<float>();
      const bool f16 = e.dtype->widen == FileDType::Widen::f16;
      for (size_t i = 0; i < half.size(); ++i)
        dst[i] = f16 ? half_to_float(half[i]) : bf16_to_float(half[i]);
    }
    out.emplace(e.name, std::move(t));
  }
  if (metadata) *metadata = std::move(meta);
  return out;
}

}  // namespace qf
