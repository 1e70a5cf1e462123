#include "image/image.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace glyph {

PageImage::PageImage(int width, int height, int channels_count, uint8_t fill)
    : width_px(width), height_px(height), channels(channels_count) {
  if (width < 0 || height < 0 || (channels_count != 1 && channels_count != 3)) {
    throw Error(ErrorCode::invalid_argument, "image: invalid size " + std::to_string(width) + "x" +
                                                 std::to_string(height) + " with " +
                                                 std::to_string(channels_count) + " channels");
  }
  pixels.assign(static_cast<size_t>(width) * height * channels_count, fill);
}

PageImage crop(const PageImage& image, int x, int y, int width_px, int height_px) {
  const int x0 = std::clamp(x, 0, image.width_px);
  const int y0 = std::clamp(y, 0, image.height_px);
  const int x1 = std::clamp(x + std::max(width_px, 0), x0, image.width_px);
  const int y1 = std::clamp(y + std::max(height_px, 0), y0, image.height_px);
  PageImage out(x1 - x0, y1 - y0, image.channels);
  const size_t n = out.row_bytes();
  for (int row = y0; row < y1; ++row) {
    if (n)
      std::memcpy(out.row(row - y0), image.row(row) + static_cast<size_t>(x0) * image.channels, n);
  }
  return out;
}

PageImage to_rgb(const PageImage& image) {
  if (image.channels == 3) return image;
  PageImage out(image.width_px, image.height_px, 3);
  const size_t n = static_cast<size_t>(image.width_px) * image.height_px;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t v = image.pixels[i];
    out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = v;
  }
  return out;
}

PageImage to_gray(const PageImage& image) {
  if (image.channels == 1) return image;
  PageImage out(image.width_px, image.height_px, 1);
  const size_t n = static_cast<size_t>(image.width_px) * image.height_px;
  const uint8_t* p = image.pixels.data();
  for (size_t i = 0; i < n; ++i, p += 3) out.pixels[i] = luma_601(p[0], p[1], p[2]);
  return out;
}

namespace {
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest) {
    const uint32_t v = (b[i] << 16) | (rest == 2 ? b[i + 1] << 8 : 0);
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  int8_t value[256];
  std::memset(value, -1, sizeof value);
  for (int i = 0; i < 64; ++i)
    value[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding_at = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      if (padding_at == std::string_view::npos) padding_at = i;
      continue;
    }
    if (value[c] < 0 || padding_at != std::string_view::npos) {
      throw Error(ErrorCode::invalid_input,
                  "base64: invalid character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<uint32_t>(value[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) {
    throw Error(ErrorCode::invalid_input, "base64: truncated input (" +
                                              std::to_string(text.size()) +
                                              " characters, a lone final character)");
  }
  return out;
}

}  // namespace glyph
