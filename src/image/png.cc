// PNG encoding with libdeflate (deterministic, faster than zlib at equal size) or, on request,
// ISA-L's igzip (faster still), and decoding with libpng's simplified API.
//
// Limits: the encoder writes 8-bit gray or RGB only, one IDAT chunk, no interlace, no gamma or
// colour-profile chunks (viewers assume sRGB, which is what the renderer produces).
#include <isa-l.h>
#include <libdeflate.h>
#include <png.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "image/image.h"

namespace glyph {
namespace {

void put_u32(std::string& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 4);
}

// Appends a chunk whose data already sits at out[data_at, end): the length was reserved before.
void finish_chunk(std::string& out, size_t length_at) {
  const size_t type_at = length_at + 4;
  const size_t length = out.size() - type_at - 4;
  const uint32_t l = static_cast<uint32_t>(length);
  out[length_at] = static_cast<char>(l >> 24);
  out[length_at + 1] = static_cast<char>(l >> 16);
  out[length_at + 2] = static_cast<char>(l >> 8);
  out[length_at + 3] = static_cast<char>(l);
  put_u32(out, libdeflate_crc32(0, out.data() + type_at, length + 4));
}

void begin_chunk(std::string& out, const char type[4], size_t* length_at) {
  *length_at = out.size();
  out.append(4, '\0');
  out.append(type, 4);
}

// A per-thread byte buffer that grows without zero-filling: its bytes are always written before
// they are read, and a page-sized buffer filled with zeros first would cost as much again in
// memory writes and page faults.
class ScratchBuffer {
 public:
  uint8_t* get(size_t size) {
    if (size > capacity_) {
      data_.reset(new uint8_t[size]);  // default-initialized: not touched until written
      capacity_ = size;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
};

// One compressor per thread and level: allocating one costs more than compressing a page.
struct CompressorCache {
  libdeflate_compressor* compressor = nullptr;
  int level = -1;
  ~CompressorCache() {
    if (compressor) libdeflate_free_compressor(compressor);
  }
  libdeflate_compressor* get(int wanted) {
    if (compressor && level == wanted) return compressor;
    if (compressor) libdeflate_free_compressor(compressor);
    compressor = libdeflate_alloc_compressor(wanted);
    level = wanted;
    if (!compressor) throw Error(ErrorCode::internal, "png: cannot allocate a deflate compressor");
    return compressor;
  }
};

inline uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return static_cast<uint8_t>(a);
  if (pb <= pc) return static_cast<uint8_t>(b);
  return static_cast<uint8_t>(c);
}

// Writes the filtered row (without the filter byte) for one filter type.
void filter_row(int type, const uint8_t* row, const uint8_t* prev, size_t n, int bpp,
                uint8_t* out) {
  switch (type) {
    case 0: std::memcpy(out, row, n); break;
    case 1: {
      const size_t head = std::min(n, static_cast<size_t>(bpp));
      std::memcpy(out, row, head);
      for (size_t i = head; i < n; ++i) out[i] = static_cast<uint8_t>(row[i] - row[i - bpp]);
      break;
    }
    case 2:
      if (!prev) {
        std::memcpy(out, row, n);
        break;
      }
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(row[i] - prev[i]);
      break;
    case 3:
      for (size_t i = 0; i < n; ++i) {
        const int a = i >= size_t(bpp) ? row[i - bpp] : 0;
        const int b = prev ? prev[i] : 0;
        out[i] = static_cast<uint8_t>(row[i] - ((a + b) >> 1));
      }
      break;
    default:
      for (size_t i = 0; i < n; ++i) {
        const int a = i >= size_t(bpp) ? row[i - bpp] : 0;
        const int b = prev ? prev[i] : 0;
        const int c = (prev && i >= size_t(bpp)) ? prev[i - bpp] : 0;
        out[i] = static_cast<uint8_t>(row[i] - paeth(a, b, c));
      }
      break;
  }
}

// The usual heuristic: the filter whose output, read as signed bytes, has the smallest sum.
uint64_t signed_sum(const uint8_t* p, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] < 128 ? p[i] : 256 - p[i];
  return sum;
}

// Room for any input: stored blocks (5 bytes per 64 KiB) plus the zlib header and trailer, with
// margin for igzip's block headers.
size_t isal_deflate_bound(size_t size) {
  return size + size / 1000 + 5 * (size / 65535 + 1) + 1024;
}

// One-shot zlib stream with igzip at `level`; 0 when `capacity` was too small. The level's
// working buffer is kept per thread.
size_t isal_zlib_compress(int level, const uint8_t* in, size_t in_size, uint8_t* out,
                          size_t capacity) {
  static constexpr uint32_t kLevelBufferSize[] = {0, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT,
                                                  ISAL_DEF_LVL3_DEFAULT};
  thread_local ScratchBuffer level_buffer;
  // isal_deflate_stateless_init sets only some fields of the stream: zeroed first, no field is
  // left uninitialized. (This did not make igzip's bytes reproducible; see PngDeflate.)
  isal_zstream stream;
  std::memset(&stream, 0, sizeof stream);
  isal_deflate_stateless_init(&stream);
  stream.level = static_cast<uint32_t>(level);
  stream.level_buf_size = kLevelBufferSize[level];
  stream.level_buf = stream.level_buf_size ? level_buffer.get(stream.level_buf_size) : nullptr;
  stream.gzip_flag = IGZIP_ZLIB;
  stream.end_of_stream = 1;
  stream.flush = NO_FLUSH;
  stream.next_in = const_cast<uint8_t*>(in);
  stream.avail_in = static_cast<uint32_t>(in_size);
  stream.next_out = out;
  stream.avail_out = static_cast<uint32_t>(std::min<size_t>(capacity, UINT32_MAX));
  if (in_size > UINT32_MAX || isal_deflate_stateless(&stream) != COMP_OK) return 0;
  return stream.total_out;
}

}  // namespace

PngOptions png_options_named(std::string_view name) {
  if (name == "fast") return PngOptions{};
  if (name == "small") return PngOptions{PngDeflate::libdeflate, 6, PngFilter::none};
  if (name == "fastest") return PngOptions{PngDeflate::isal, 1, PngFilter::none};
  throw Error(ErrorCode::invalid_argument, "png: unknown compression \"" + std::string(name) +
                                               "\" (expected fast, small or fastest)");
}

std::string encode_png(const PageImage& image, const PngOptions& options) {
  if ((image.channels != 1 && image.channels != 3) || image.width_px <= 0 || image.height_px <= 0 ||
      image.pixels.size() != image.row_bytes() * static_cast<size_t>(image.height_px)) {
    throw Error(ErrorCode::invalid_argument,
                "png: cannot encode a " + std::to_string(image.width_px) + "x" +
                    std::to_string(image.height_px) + " image with " +
                    std::to_string(image.channels) + " channels and " +
                    std::to_string(image.pixels.size()) + " bytes of pixels");
  }
  const int max_level = options.deflate == PngDeflate::isal ? ISAL_DEF_MAX_LEVEL : 12;
  if (options.compression_level < 0 || options.compression_level > max_level) {
    throw Error(ErrorCode::invalid_argument,
                std::string("png: compression level ") + std::to_string(options.compression_level) +
                    " is outside 0.." + std::to_string(max_level) + " for " +
                    (options.deflate == PngDeflate::isal ? "isal" : "libdeflate"));
  }
  const size_t n = image.row_bytes();
  const int bpp = image.channels;
  const size_t h = static_cast<size_t>(image.height_px);
  // Reused per thread: a page's filtered rows are as large as the page.
  thread_local ScratchBuffer filtered_buffer;
  const size_t filtered_size = (n + 1) * h;
  uint8_t* const filtered = filtered_buffer.get(filtered_size);
  std::vector<uint8_t> trial(options.filter == PngFilter::adaptive ? n : 0);
  for (size_t y = 0; y < h; ++y) {
    const uint8_t* row = image.row(static_cast<int>(y));
    const uint8_t* prev = y ? image.row(static_cast<int>(y - 1)) : nullptr;
    uint8_t* out = filtered + y * (n + 1);
    int type = 0;
    switch (options.filter) {
      case PngFilter::none: type = 0; break;
      case PngFilter::sub: type = 1; break;
      case PngFilter::up: type = 2; break;
      case PngFilter::paeth: type = 4; break;
      case PngFilter::adaptive: {
        uint64_t best = UINT64_MAX;
        for (int t = 0; t <= 4; ++t) {
          filter_row(t, row, prev, n, bpp, trial.data());
          const uint64_t s = signed_sum(trial.data(), n);
          if (s < best) best = s, type = t;
        }
        break;
      }
    }
    out[0] = static_cast<uint8_t>(type);
    filter_row(type, row, prev, n, bpp, out + 1);
  }

  // Compressed into a per-thread buffer, then copied into a string of the final size: a string
  // reserved and resized to the bound (as large as the page) would be zero-filled and page-faulted
  // in full for every page, though the compressed data is a tenth of it.
  thread_local ScratchBuffer compressed_buffer;
  const uint8_t* compressed = nullptr;
  size_t written = 0;
  if (options.deflate == PngDeflate::isal) {
    const size_t bound = isal_deflate_bound(filtered_size);
    uint8_t* const buffer = compressed_buffer.get(bound);
    written = isal_zlib_compress(options.compression_level, filtered, filtered_size, buffer, bound);
    compressed = buffer;
  } else {
    thread_local CompressorCache cache;
    libdeflate_compressor* compressor = cache.get(options.compression_level);
    const size_t bound = libdeflate_zlib_compress_bound(compressor, filtered_size);
    uint8_t* const buffer = compressed_buffer.get(bound);
    written = libdeflate_zlib_compress(compressor, filtered, filtered_size, buffer, bound);
    compressed = buffer;
  }
  if (written == 0) throw Error(ErrorCode::internal, "png: deflate output exceeded its bound");

  std::string out;
  out.reserve(8 + 25 + 12 + written + 12);
  out.append("\x89PNG\r\n\x1a\n", 8);
  size_t at;
  begin_chunk(out, "IHDR", &at);
  put_u32(out, static_cast<uint32_t>(image.width_px));
  put_u32(out, static_cast<uint32_t>(image.height_px));
  out += static_cast<char>(8);                            // bit depth
  out += static_cast<char>(image.channels == 1 ? 0 : 2);  // colour type: gray or RGB
  out.append(3, '\0');  // deflate, adaptive filtering, no interlace
  finish_chunk(out, at);

  begin_chunk(out, "IDAT", &at);
  out.append(reinterpret_cast<const char*>(compressed), written);
  finish_chunk(out, at);

  begin_chunk(out, "IEND", &at);
  finish_chunk(out, at);
  return out;
}

PageImage decode_png(std::string_view bytes, int64_t max_pixels) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) != 0) {
    throw Error(ErrorCode::invalid_input, "png: not a PNG file (bad signature)");
  }
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(ErrorCode::invalid_input, "png: " + message);
  }
  const int64_t pixel_count = static_cast<int64_t>(png.width) * png.height;
  if (pixel_count > max_pixels) {
    png_image_free(&png);
    throw Error(ErrorCode::limit_exceeded,
                "png: " + std::to_string(png.width) + "x" + std::to_string(png.height) +
                    " pixels exceeds the limit of " + std::to_string(max_pixels) + " pixels");
  }
  const bool gray =
      (png.format & PNG_FORMAT_FLAG_COLOR) == 0 && (png.format & PNG_FORMAT_FLAG_ALPHA) == 0;
  png.format = gray ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  PageImage out(static_cast<int>(png.width), static_cast<int>(png.height), gray ? 1 : 3);
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&png, &white, out.pixels.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw Error(ErrorCode::invalid_input, "png: " + message);
  }
  png_image_free(&png);
  return out;
}

}  // namespace glyph
