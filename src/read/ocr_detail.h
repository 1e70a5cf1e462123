// Internals of the OCR reader: the Tesseract session, the content hash and the page cache.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "read/ocr_reader.h"

namespace glyph::detail {

// SHA-256 (FIPS 180-4), incremental.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  std::string hex_digest();  // finishes; the object is spent afterwards

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_bytes_ = 0;
};

// One initialized TessBaseAPI. Not thread-safe: one per thread.
class TesseractSession {
 public:
  explicit TesseractSession(const OcrOptions& options);
  ~TesseractSession();
  TesseractSession(const TesseractSession&) = delete;
  TesseractSession& operator=(const TesseractSession&) = delete;

  // Recognizes a gray image, enlarged by `scale` first. Boxes are in pixels of `gray` as given
  // (before the enlargement). source_dpi: the dpi of `gray` (0 = unknown, taken as 72).
  std::vector<OcrLine> recognize(const PageImage& gray, double source_dpi, double scale,
                                 const std::function<bool()>& is_cancelled);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  OcrOptions options_;
};

// Makes the OpenMP runtime that Tesseract uses run parallel regions on the calling thread only.
void limit_openmp_to_calling_thread();

// The folder for cached pages (options.cache_dir, else $XDG_CACHE_HOME/glyph/ocr, else
// ~/.cache/glyph/ocr); empty when none can be determined.
std::string ocr_cache_dir(const OcrOptions& options);
std::optional<std::vector<OcrLine>> load_cached_lines(const std::string& dir, const std::string& key);
// Best effort: a cache that cannot be written is not an error.
void store_cached_lines(const std::string& dir, const std::string& key,
                        const std::vector<OcrLine>& lines);

// Tesseract's usual confusions in Latin text at low resolution: a lone "|" (perhaps with quotes or
// punctuation around it) for the pronoun "I", and "*" for a closing double quote after sentence
// punctuation. Tokens where these characters belong ("a|b", "2*3") are left alone.
std::string fix_common_confusions(std::string_view word);

}  // namespace glyph::detail
