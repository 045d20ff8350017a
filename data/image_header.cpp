// Image sizes from headers (formats and contract in data/image_header.h). Every read is bounds
// checked: a header cut short gives no size, never a read past the buffer.
#include "data/image_header.h"

#include <cstring>
#include <string>
#include <string_view>

namespace qf {
namespace {

using Size = std::optional<ImageSize>;

class Bytes {
 public:
  Bytes(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  size_t size() const { return n_; }
  bool has(size_t off, size_t len) const { return off <= n_ && len <= n_ - off; }
  bool starts(size_t off, std::string_view s) const {
    return has(off, s.size()) && std::memcmp(p_ + off, s.data(), s.size()) == 0;
  }
  uint8_t u8(size_t off) const { return p_[off]; }
  uint64_t be(size_t off, int len) const {
    uint64_t v = 0;
    for (int i = 0; i < len; ++i) v = (v << 8) | p_[off + static_cast<size_t>(i)];
    return v;
  }
  uint64_t le(size_t off, int len) const {
    uint64_t v = 0;
    for (int i = len - 1; i >= 0; --i) v = (v << 8) | p_[off + static_cast<size_t>(i)];
    return v;
  }
  std::string_view text(size_t off) const {
    return {reinterpret_cast<const char*>(p_) + off, n_ - off};
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

Size sized(int64_t w, int64_t h) {
  if (w < 1 || h < 1) return std::nullopt;
  return ImageSize{w, h};
}

Size jpeg(const Bytes& b) {
  size_t at = 2;  // after SOI
  while (b.has(at, 4)) {
    if (b.u8(at) != 0xFF) return std::nullopt;
    const uint8_t marker = b.u8(at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // TEM, RSTn, SOI: no length
      at += 2;
      continue;
    }
    const size_t length = b.be(at + 2, 2);
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                     marker != 0xCC;  // not DHT, JPG, DAC
    if (sof) {
      if (length < 7 || !b.has(at + 4, 5)) return std::nullopt;
      return sized(static_cast<int64_t>(b.be(at + 7, 2)), static_cast<int64_t>(b.be(at + 5, 2)));
    }
    if (marker == 0xD9 || marker == 0xDA || length < 2) return std::nullopt;  // EOI, SOS first
    at += 2 + length;
  }
  return std::nullopt;
}

Size png(const Bytes& b) {
  if (!b.has(8, 16) || !b.starts(12, "IHDR")) return std::nullopt;
  return sized(static_cast<int64_t>(b.be(16, 4)), static_cast<int64_t>(b.be(20, 4)));
}

Size bmp(const Bytes& b) {
  if (!b.has(14, 4)) return std::nullopt;
  const uint64_t header = b.le(14, 4);
  if (header == 12) {  // BITMAPCOREHEADER: 16-bit sides
    if (!b.has(18, 4)) return std::nullopt;
    return sized(static_cast<int64_t>(b.le(18, 2)), static_cast<int64_t>(b.le(20, 2)));
  }
  if (header < 40 || !b.has(18, 8)) return std::nullopt;
  const auto w = static_cast<int32_t>(b.le(18, 4));
  const auto h = static_cast<int32_t>(b.le(22, 4));  // negative: rows stored top-down
  return sized(w, h < 0 ? -static_cast<int64_t>(h) : h);
}

Size webp(const Bytes& b) {
  if (b.starts(12, "VP8 ")) {
    if (!b.has(26, 4) || b.u8(23) != 0x9D || b.u8(24) != 0x01 || b.u8(25) != 0x2A)
      return std::nullopt;
    return sized(static_cast<int64_t>(b.le(26, 2) & 0x3FFF),
                 static_cast<int64_t>(b.le(28, 2) & 0x3FFF));
  }
  if (b.starts(12, "VP8L")) {
    if (!b.has(20, 5) || b.u8(20) != 0x2F) return std::nullopt;
    const uint64_t bits = b.le(21, 4);
    return sized(static_cast<int64_t>(bits & 0x3FFF) + 1,
                 static_cast<int64_t>((bits >> 14) & 0x3FFF) + 1);
  }
  if (b.starts(12, "VP8X") && b.has(24, 6))
    return sized(static_cast<int64_t>(b.le(24, 3)) + 1, static_cast<int64_t>(b.le(27, 3)) + 1);
  return std::nullopt;
}

Size tiff(const Bytes& b) {
  const bool little = b.starts(0, "II");
  auto num = [&](size_t off, int len) { return little ? b.le(off, len) : b.be(off, len); };
  const bool big = num(2, 2) == 43;  // BigTIFF: 64-bit offsets and counts
  if (!big && num(2, 2) != 42) return std::nullopt;
  if (big && !b.has(8, 8)) return std::nullopt;
  const uint64_t ifd = big ? num(8, 8) : num(4, 4);
  const size_t count_len = big ? 8 : 2, entry_len = big ? 20 : 12;
  if (ifd > b.size() || !b.has(static_cast<size_t>(ifd), count_len)) return std::nullopt;
  const uint64_t entries = num(static_cast<size_t>(ifd), static_cast<int>(count_len));
  int64_t width = 0, height = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    const size_t at = static_cast<size_t>(ifd) + count_len + static_cast<size_t>(i) * entry_len;
    if (!b.has(at, entry_len)) return std::nullopt;
    const uint64_t tag = num(at, 2), type = num(at + 2, 2);
    const size_t value = at + (big ? 12 : 8);
    const int len = type == 3 ? 2 : type == 4 ? 4 : type == 16 ? 8 : 0;  // SHORT, LONG, LONG8
    if (len == 0 || (len == 8 && !big) || (tag != 256 && tag != 257)) continue;
    const auto v = static_cast<int64_t>(num(value, len));
    (tag == 256 ? width : height) = v;
  }
  return sized(width, height);
}

Size jpeg2000_codestream(const Bytes& b, size_t at) {
  // SOC (FF4F), then SIZ (FF51): length, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz.
  if (!b.has(at, 24) || b.be(at, 2) != 0xFF4F || b.be(at + 2, 2) != 0xFF51) return std::nullopt;
  const auto x = static_cast<int64_t>(b.be(at + 8, 4)), y = static_cast<int64_t>(b.be(at + 12, 4));
  const auto x0 = static_cast<int64_t>(b.be(at + 16, 4)),
             y0 = static_cast<int64_t>(b.be(at + 20, 4));
  return sized(x - x0, y - y0);
}

Size jp2(const Bytes& b) {
  // Boxes: length (4, 1 = a 64-bit length follows), type (4); the header box jp2h holds ihdr
  // (height, width), the codestream box jp2c the SIZ marker.
  size_t at = 0, end = b.size();
  while (b.has(at, 8)) {
    uint64_t length = b.be(at, 4);
    size_t head = 8;
    if (length == 1) {
      if (!b.has(at, 16)) return std::nullopt;
      length = b.be(at + 8, 8);
      head = 16;
    }
    if (length == 0) length = end - at;  // to the end of the file
    if (length < head || length > end - at) return std::nullopt;
    if (b.starts(at + 4, "jp2h")) {  // a superbox: descend
      end = at + static_cast<size_t>(length);
      at += head;
      continue;
    }
    if (b.starts(at + 4, "ihdr")) {
      if (!b.has(at + head, 8)) return std::nullopt;
      return sized(static_cast<int64_t>(b.be(at + head + 4, 4)),
                   static_cast<int64_t>(b.be(at + head, 4)));
    }
    if (b.starts(at + 4, "jp2c")) return jpeg2000_codestream(b, at + head);
    at += static_cast<size_t>(length);
  }
  return std::nullopt;
}

// The next whitespace-separated token of a PNM header, skipping '#' comments; empty at the end
// (a token must be followed by whitespace, so a header cut inside a number gives no size).
std::string_view pnm_token(std::string_view& s) {
  for (;;) {
    const size_t start = s.find_first_not_of(" \t\r\n\v\f");
    if (start == std::string_view::npos) return {};
    s.remove_prefix(start);
    if (s.front() != '#') break;
    const size_t eol = s.find('\n');
    if (eol == std::string_view::npos) return {};
    s.remove_prefix(eol + 1);
  }
  const size_t end = s.find_first_of(" \t\r\n\v\f#");
  if (end == std::string_view::npos) return {};  // runs to the end: the header is cut short
  const std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

int64_t decimal(std::string_view t) {
  if (t.empty() || t.size() > 12) return -1;
  int64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

Size pnm(const Bytes& b) {
  std::string_view s = b.text(2).substr(0, 4096);
  if (b.u8(1) != '7') {  // P1..P6, PF, Pf: width and height are the next two tokens
    const int64_t w = decimal(pnm_token(s));
    return sized(w, decimal(pnm_token(s)));
  }
  int64_t w = -1, h = -1;  // PAM: "WIDTH n" and "HEIGHT n" lines up to ENDHDR
  for (std::string_view t = pnm_token(s); !t.empty() && t != "ENDHDR"; t = pnm_token(s)) {
    if (t == "WIDTH") w = decimal(pnm_token(s));
    if (t == "HEIGHT") h = decimal(pnm_token(s));
  }
  return sized(w, h);
}

Size radiance(const Bytes& b) {
  // Header lines up to an empty line, then the resolution: "-Y <h> +X <w>" (or another order).
  std::string_view s = b.text(0).substr(0, 65536);
  const size_t blank = s.find("\n\n");
  if (blank == std::string_view::npos) return std::nullopt;
  s.remove_prefix(blank + 2);
  const std::string_view a = pnm_token(s), an = pnm_token(s), c = pnm_token(s), cn = pnm_token(s);
  if (a.size() != 2 || c.size() != 2) return std::nullopt;
  const bool y_first = a[1] == 'Y' && c[1] == 'X', x_first = a[1] == 'X' && c[1] == 'Y';
  if (!y_first && !x_first) return std::nullopt;
  return y_first ? sized(decimal(cn), decimal(an)) : sized(decimal(an), decimal(cn));
}

Size openexr(const Bytes& b) {
  // After magic and version: attributes "name\0type\0" size (int32 LE) value, up to an empty name.
  size_t at = 8;
  while (b.has(at, 1) && b.u8(at) != 0) {
    const std::string_view rest = b.text(at);
    const size_t name_end = rest.find('\0');
    if (name_end == std::string_view::npos) return std::nullopt;
    const size_t type_end = rest.find('\0', name_end + 1);
    if (type_end == std::string_view::npos || !b.has(at + type_end + 1, 4)) return std::nullopt;
    const std::string_view name = rest.substr(0, name_end);
    const std::string_view type = rest.substr(name_end + 1, type_end - name_end - 1);
    const size_t value = at + type_end + 5;
    const uint64_t size = b.le(at + type_end + 1, 4);
    if (!b.has(value, static_cast<size_t>(size))) return std::nullopt;
    if (name == "dataWindow" && type == "box2i" && size == 16) {
      const auto x0 = static_cast<int32_t>(b.le(value, 4)),
                 y0 = static_cast<int32_t>(b.le(value + 4, 4));
      const auto x1 = static_cast<int32_t>(b.le(value + 8, 4)),
                 y1 = static_cast<int32_t>(b.le(value + 12, 4));
      return sized(int64_t{x1} - x0 + 1, int64_t{y1} - y0 + 1);
    }
    at = value + static_cast<size_t>(size);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ImageSize> image_size_from_header(const uint8_t* bytes, size_t n) {
  const Bytes b(bytes, n);
  if (b.has(0, 3) && b.u8(0) == 0xFF && b.u8(1) == 0xD8 && b.u8(2) == 0xFF) return jpeg(b);
  if (b.starts(0, "\x89PNG\r\n\x1a\n")) return png(b);
  if (b.starts(0, "BM")) return bmp(b);
  if (b.starts(0, "RIFF") && b.starts(8, "WEBP")) return webp(b);
  if ((b.starts(0, "II") || b.starts(0, "MM")) && b.has(0, 8)) return tiff(b);
  if (b.starts(0, std::string_view("\x00\x00\x00\x0cjP  \r\n\x87\n", 12))) return jp2(b);
  if (b.starts(0, "\xff\x4f\xff\x51")) return jpeg2000_codestream(b, 0);
  if (b.has(0, 2) && b.u8(0) == 'P' &&
      ((b.u8(1) >= '1' && b.u8(1) <= '7') || b.u8(1) == 'F' || b.u8(1) == 'f'))
    return pnm(b);
  if (b.has(0, 12) && b.be(0, 4) == 0x59A66A95)  // Sun raster
    return sized(static_cast<int64_t>(b.be(4, 4)), static_cast<int64_t>(b.be(8, 4)));
  if (b.starts(0, "#?RADIANCE") || b.starts(0, "#?RGBE")) return radiance(b);
  if (b.has(0, 8) && b.le(0, 4) == 20000630) return openexr(b);
  return std::nullopt;
}

}  // namespace qf
