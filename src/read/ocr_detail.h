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
std::optional<std::vector<OcrLine>> load_cached_lines(const std::string& dir,
                                                      const std::string& key);
// Best effort: a cache that cannot be written is not an error.
void store_cached_lines(const std::string& dir, const std::string& key,
                        const std::vector<OcrLine>& lines);

// Tesseract's usual confusions in Latin text at low resolution: a lone "|" (perhaps with quotes or
// punctuation around it) for the pronoun "I", and "*" for a closing double quote after sentence
// punctuation. Tokens where these characters belong ("a|b", "2*3") are left alone.
std::string fix_common_confusions(std::string_view word);

}  // namespace glyph::detail
