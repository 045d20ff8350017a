// The width and height of an encoded image, read from its header without decoding it, so that an
// image that would decode to gigabytes (a 1 MB PNG of 20000 x 20000 zeros) is refused before any
// pixel memory is allocated (data/image_list.h: data.max_image_pixels).
//
// Formats: those the image-list decoder (OpenCV's imgcodecs) reads —
//   JPEG        SOFn marker segment (baseline, progressive, lossless, arithmetic)
//   PNG         IHDR chunk
//   BMP         BITMAPCOREHEADER / BITMAPINFOHEADER and later (negative height: top-down)
//   WebP        VP8 (lossy), VP8L (lossless), VP8X (extended: the canvas)
//   TIFF        first IFD's ImageWidth / ImageLength, classic and BigTIFF, either byte order
//   JPEG 2000   JP2 file (ihdr box) or raw codestream (SIZ marker)
//   PNM / PAM   P1..P6 and P7 (WIDTH / HEIGHT lines), PFM (PF / Pf)
//   Sun raster, Radiance HDR (the resolution line), OpenEXR (the dataWindow attribute)
// Anything else, or a header cut short or contradicting itself, gives no size; the caller refuses
// such a file rather than decode it blind. Pure byte parsing, no OpenCV: tested in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace qf {

struct ImageSize {
  int64_t width = 0, height = 0;
};

// The size the header of `bytes` (the whole file, or at least its header) declares, if its format
// is one of the above and the header is well-formed with both sides at least 1.
std::optional<ImageSize> image_size_from_header(const uint8_t* bytes, size_t n);

}  // namespace qf
