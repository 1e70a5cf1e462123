// Page images in memory and as bytes: PNG encode/decode, resizing, cropping, base64.
//
// A PageImage is 8-bit gray (channels == 1) or RGB (channels == 3), row-major, no row padding.
// Everything here is deterministic: the same pixels and options give the same bytes on every
// machine and thread. Functions are thread-safe (no shared mutable state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

struct PageImage {
  int width_px = 0;
  int height_px = 0;
  int channels = 1;  // 1 = gray, 3 = RGB
  std::vector<uint8_t> pixels;

  PageImage() = default;
  // A width × height image with every pixel set to `fill` (gray value, or R=G=B).
  PageImage(int width, int height, int channels, uint8_t fill = 255);

  size_t row_bytes() const { return static_cast<size_t>(width_px) * channels; }
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  bool empty() const { return width_px == 0 || height_px == 0; }
};

// PNG row filters. `none` is the default: on anti-aliased text pages it gives the smallest files
// at libdeflate level 1 (8-13% smaller than `sub` on dense English, Chinese and RGB pages, 1%
// larger on case3's sparse ones) and the fastest encode, since a glyph rendered twice repeats
// byte for byte and deflate finds it (bench/render_bench.cc measures every filter).
enum class PngFilter { none, sub, up, paeth, adaptive };

// The deflate implementation. `libdeflate` (the default, level 1) is deterministic: the same
// pixels always give the same bytes. `isal` is ISA-L's igzip, SIMD code written for throughput:
// its level 1 compresses 2.3x faster on rendered pages for files about 25% larger, but the bytes
// of a page can differ between runs (equally long matches chosen differently; the pixels are the
// same), so it is opt-in. bench/render_bench.cc measures both.
enum class PngDeflate { libdeflate, isal };

struct PngOptions {
  PngDeflate deflate = PngDeflate::libdeflate;
  int compression_level = 1;  // libdeflate: 0 (stored) .. 12 (smallest); isal: 0..3
  PngFilter filter = PngFilter::none;
};

// The choices of `glyph render --png`: "fast" (libdeflate level 1, the default), "small"
// (libdeflate level 6: half the size, 2x the time) or "fastest" (ISA-L level 1, bytes not
// reproducible); throws Error(invalid_argument) naming the choices.
PngOptions png_options_named(std::string_view name);

// Encodes an 8-bit gray or RGB PNG (no interlace, no ancillary chunks, so the bytes depend only
// on the pixels and options). Throws Error(invalid_argument) for an inconsistent image.
std::string encode_png(const PageImage& image, const PngOptions& options = {});

// Decodes a PNG of any standard colour type and bit depth to 8-bit gray (when the file is gray
// without alpha) or RGB; alpha is composited over white. Throws Error(invalid_input) naming what
// is wrong, and Error(limit_exceeded) when width × height exceeds max_pixels, before allocating
// the pixels (a guard against decompression bombs).
inline constexpr int64_t kDefaultMaxDecodePixels = 64LL * 1024 * 1024;
PageImage decode_png(std::string_view bytes, int64_t max_pixels = kDefaultMaxDecodePixels);

// Resizes by area averaging: each output pixel is the mean of the source area it covers (exact
// fractional coverage). Meant for downscaling; upscaling works (it becomes near-neighbour with
// blended seams). Width and height must be >= 1.
PageImage resize_area(const PageImage& image, int width_px, int height_px);

// Resizes with the bicubic convolution filter (a = -0.5) the way Pillow's Image.resize does by
// default (support widened by the scale factor when shrinking, 22-bit fixed-point weights), so
// a horizontal scale matches the Python tooling of the Glyph release pixel for pixel.
PageImage resize_bicubic(const PageImage& image, int width_px, int height_px);

// The largest size with the same aspect ratio whose pixel count is <= max_pixels (each side >= 1),
// or the image's own size when it already fits.
struct PixelSize {
  int width_px = 0;
  int height_px = 0;
};
PixelSize fit_within_pixels(int width_px, int height_px, int64_t max_pixels);
// Downscales (area averaging) so that width × height <= max_pixels; a copy when it already fits.
PageImage downscale_to_fit(const PageImage& image, int64_t max_pixels);

// The rectangle [x, x + width) × [y, y + height), clipped to the image.
PageImage crop(const PageImage& image, int x, int y, int width_px, int height_px);

// Gray → RGB (R = G = B) and RGB → gray (ITU-R 601-2 luma as Pillow's convert("L") computes it).
PageImage to_rgb(const PageImage& image);
PageImage to_gray(const PageImage& image);
// Luma of one RGB pixel bit-exactly as Pillow's convert("L"): the weights 0.299, 0.587, 0.114 in
// 16-bit fixed point, (19595 R + 38470 G + 7471 B + 32768) >> 16. The plain decimal formula
// rounded differs from Pillow on about 0.06% of colours.
inline uint8_t luma_601(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
// Accepts padded or unpadded input; ignores ASCII whitespace. Throws Error(invalid_input) naming
// the offset of the first character outside the alphabet.
std::string base64_decode(std::string_view text);

}  // namespace glyph
