// OcrReader: the embedded reader. Tesseract 5 reads the page images back; answers are extractive.
//
// Two layers:
// - recognize_pages(): page images (or crops of them) → recognized lines and words with boxes in
//   pixels of the full page and confidences. Pages run in parallel, one TessBaseAPI per worker
//   thread, each single-threaded inside (OpenMP teams of one: on a shared machine Tesseract's own
//   threads spin and make a page 5-10x slower). Results are cached on disk by content hash.
// - OcrReader (a Reader): recognizes request.pages, then answers from the recognized text only:
//   question → the best matching sentences (BM25), summary → N sentences, extraction → JSON.
//   Everything in the answer was read off the pixels; the reader never sees the source text.
//
// Honest limits: Tesseract is trained on print at 200-300 dpi. Glyph pages are 72 dpi with 9-point
// text (9 px high glyphs), so images are upscaled (2x by default) before recognition; at 72 dpi
// with the English preset the character error rate is about 1% (see docs/readers.md). Typographic
// quotes and "I" vs "|" are the usual confusions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "read/reader.h"

namespace glyph {

struct OcrOptions {
  // Tesseract language(s), "eng", "chi_sim" or "eng+chi_sim".
  std::string language = "eng";
  // The folder holding <language>.traineddata; empty = $TESSDATA_PREFIX, else Debian's folder.
  std::string tessdata_dir;
  // Images are enlarged by this factor before recognition (1 = as is); 0 = automatic:
  // target_dpi / the image's dpi, within 1..4 (2x for 72-dpi pages, the measured best accuracy
  // per second; 3x at 48 dpi; 1.5x at 96 dpi; docs/readers.md).
  double upscale = 0;
  double target_dpi = 144;
  // Tesseract page segmentation mode. 6 (one uniform block of text) fits Glyph pages: one column,
  // no pictures; it is also about 40% faster than automatic segmentation (3) at equal accuracy.
  int page_segmentation_mode = 6;
  // Worker threads for recognize_pages(); 0 = one per hardware thread, capped by the page count.
  int threads = 0;
  // On-disk cache of recognized images; empty = $XDG_CACHE_HOME/glyph/ocr or ~/.cache/glyph/ocr.
  std::string cache_dir;
  bool use_cache = true;
  // Fix Tesseract's usual confusions in Latin text: a lone "|" read for the pronoun "I".
  bool fix_common_confusions = true;
};

struct OcrWord {
  std::string text;      // UTF-8
  PixelBox box;          // pixels of the full page image at its dpi
  float confidence = 0;  // 0..100 as Tesseract reports it
};

struct OcrLine {
  std::string text;  // the words joined by single spaces
  PixelBox box;
  float confidence = 0;  // mean of the words' confidences
  std::vector<OcrWord> words;
};

// What was read off one PageInput.
struct OcrPageText {
  int page_number = 0;
  std::optional<PixelBox> crop_of;  // as in the input
  std::vector<OcrLine> lines;
  double seconds = 0;  // recognition time (0 when it came from the cache)
  bool from_cache = false;

  std::string text() const;  // the lines joined by "\n"
};

struct OcrProgress {
  size_t done = 0;
  size_t total = 0;
};

struct OcrCallbacks {
  std::function<void(const OcrProgress&)> on_progress;  // after each image (any thread, serialized)
  std::function<bool()> is_cancelled;                   // polled during recognition
};

// Recognizes every input, in parallel; the result is in input order. Gray and RGB images are
// accepted (RGB is converted to gray). Throws Error(not_found) when the language data is missing,
// Error(cancelled) when cancelled, Error(invalid_argument) for an empty image.
std::vector<OcrPageText> recognize_pages(const std::vector<PageInput>& pages,
                                         const OcrOptions& options,
                                         const OcrCallbacks& callbacks = {});

// The enlargement applied to an image of this dpi (0 = unknown, taken as 72).
double effective_upscale(const OcrOptions& options, double image_dpi);

// The cache key of one image under these options (hex SHA-256 of the pixels, their size and the
// options that change what is read). Exposed for tests.
std::string ocr_cache_key(const PageImage& image, const OcrOptions& options, double image_dpi = 0);

// The Tesseract version string ("5.3.0").
std::string tesseract_version();

// A passage of the recognized text that an extractive answer quotes.
struct OcrPassage {
  std::string text;
  int page_number = 0;
  PixelBox box;  // the union of the words' boxes on that page
  double score = 0;
};

// The structured form of an OcrReader answer, for callers that want the boxes.
struct OcrAnswer {
  std::string content;  // what read() streams and returns as content
  std::vector<OcrPassage> passages;
  std::string extraction_json;          // task == extraction: the JSON object (also inside content)
  std::vector<OcrPageText> recognized;  // what was read, per input
};

class OcrReader : public Reader {
 public:
  explicit OcrReader(OcrOptions options = {});
  ~OcrReader() override;

  std::string name() const override { return "ocr"; }
  ReadResult read(const ReadRequest& request, const ReadCallbacks& callbacks) override;

  // As read(), returning the passages with their pages and boxes too.
  OcrAnswer answer(const ReadRequest& request, const ReadCallbacks& callbacks,
                   const OcrCallbacks& ocr_callbacks = {});

  // Sentences the summary holds (task == summary). Default 5.
  void set_summary_sentences(size_t count) { summary_sentences_ = count; }
  // Passages a question answer quotes at most (the best, plus any scoring close to it). Default 2.
  void set_answer_passages(size_t count) { answer_passages_ = count; }

  const OcrOptions& options() const { return options_; }

 private:
  OcrOptions options_;
  size_t summary_sentences_ = 5;
  size_t answer_passages_ = 2;
};

}  // namespace glyph
