// The Tesseract session: the only file that includes Tesseract's headers.
#include <dlfcn.h>
#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "image/image.h"
#include "read/ocr_detail.h"

namespace glyph::detail {
namespace {

constexpr const char* kDebianTessdata = "/usr/share/tesseract-ocr/5/tessdata";

std::string tessdata_folder(const OcrOptions& options) {
  if (!options.tessdata_dir.empty()) return options.tessdata_dir;
  if (const char* prefix = std::getenv("TESSDATA_PREFIX"); prefix && *prefix) return prefix;
  return kDebianTessdata;
}

// "eng+chi_sim" → {"eng", "chi_sim"}.
std::vector<std::string> split_languages(const std::string& language) {
  std::vector<std::string> out;
  std::stringstream in(language);
  for (std::string part; std::getline(in, part, '+');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

bool cancel_trampoline(void* cancel_this, int /*words*/) {
  const auto* is_cancelled = static_cast<const std::function<bool()>*>(cancel_this);
  return (*is_cancelled)();
}

PixelBox box_of(tesseract::ResultIterator& it, tesseract::PageIteratorLevel level, double scale) {
  int left = 0, top = 0, right = 0, bottom = 0;
  it.BoundingBox(level, &left, &top, &right, &bottom);
  PixelBox box;
  box.left_px = static_cast<int>(std::floor(left / scale));
  box.top_px = static_cast<int>(std::floor(top / scale));
  box.right_px = static_cast<int>(std::ceil(right / scale));
  box.bottom_px = static_cast<int>(std::ceil(bottom / scale));
  return box;
}

}  // namespace

void limit_openmp_to_calling_thread() {
  // Tesseract's LSTM asks for teams of 4-10 threads with explicit num_threads clauses, which only
  // OMP_THREAD_LIMIT caps, and libgomp reads that variable once, before main() runs. A maximum of
  // zero active levels makes every parallel region inactive (a team of one) for this thread.
  // Looked up at run time so that nothing links libgomp directly; absent = Tesseract without
  // OpenMP, nothing to do.
  using SetLevels = void (*)(int);
  static const auto set_levels =
      reinterpret_cast<SetLevels>(dlsym(RTLD_DEFAULT, "omp_set_max_active_levels"));
  if (set_levels) set_levels(0);
}

struct TesseractSession::Impl {
  tesseract::TessBaseAPI api;
};

TesseractSession::TesseractSession(const OcrOptions& options)
    : impl_(std::make_unique<Impl>()), options_(options) {
  const std::string folder = tessdata_folder(options);
  const auto languages = split_languages(options.language);
  if (languages.empty()) {
    throw Error(ErrorCode::invalid_argument, "ocr: no language given (e.g. \"eng\")");
  }
  for (const auto& language : languages) {
    const auto path = std::filesystem::path(folder) / (language + ".traineddata");
    if (!std::filesystem::exists(path)) {
      throw Error(ErrorCode::not_found, "ocr: no Tesseract data for language \"" + language +
                                            "\": " + path.string() +
                                            " does not exist (Debian package tesseract-ocr-" +
                                            language + ", or set TESSDATA_PREFIX)");
    }
  }
  if (options.upscale != 0 && (options.upscale < 1.0 || options.upscale > 8.0)) {
    throw Error(ErrorCode::invalid_argument, "ocr: upscale " + std::to_string(options.upscale) +
                                                 " is outside 1..8 (0 = automatic)");
  }
  limit_openmp_to_calling_thread();
  if (impl_->api.Init(folder.c_str(), options.language.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
    throw Error(ErrorCode::not_found, "ocr: Tesseract could not load language \"" +
                                          options.language + "\" from " + folder);
  }
  // Keep Tesseract's own diagnostics ("Estimating resolution as ...") off the user's terminal.
  impl_->api.SetVariable("debug_file", "/dev/null");
  impl_->api.SetPageSegMode(static_cast<tesseract::PageSegMode>(options.page_segmentation_mode));
  // Paragraphs are found from the page's geometry before recognition, not from the recognized
  // text after it: glyph reads lines and words and never asks for paragraphs, and the text-based
  // pass walks every text line once per word (quadratic in the words of a line), which in the
  // sparse-text mode (11) took most of the time of a page.
  impl_->api.SetVariable("paragraph_text_based", "false");
}

TesseractSession::~TesseractSession() = default;

std::vector<OcrLine> TesseractSession::recognize(const PageImage& gray, double source_dpi,
                                                 double scale,
                                                 const std::function<bool()>& is_cancelled) {
  if (gray.empty()) throw Error(ErrorCode::invalid_argument, "ocr: empty image");
  if (gray.channels != 1) throw Error(ErrorCode::internal, "ocr: session expects a gray image");
  limit_openmp_to_calling_thread();
  PageImage scaled;
  const PageImage* input = &gray;
  if (scale > 1.0) {
    const int width = std::max(1, static_cast<int>(std::lround(gray.width_px * scale)));
    const int height = std::max(1, static_cast<int>(std::lround(gray.height_px * scale)));
    scaled = resize_bicubic(gray, width, height);
    input = &scaled;
  }
  const double scale_x = static_cast<double>(input->width_px) / gray.width_px;
  const double dpi = (source_dpi > 0 ? source_dpi : 72.0) * scale_x;

  auto& api = impl_->api;
  api.SetImage(input->pixels.data(), input->width_px, input->height_px, 1,
               static_cast<int>(input->row_bytes()));
  api.SetSourceResolution(static_cast<int>(std::lround(dpi)));

  tesseract::ETEXT_DESC monitor;
  std::function<bool()> cancelled = is_cancelled ? is_cancelled : [] { return false; };
  monitor.cancel = &cancel_trampoline;
  monitor.cancel_this = &cancelled;
  const int status = api.Recognize(&monitor);
  if (cancelled()) {
    api.Clear();
    throw Error(ErrorCode::cancelled, "ocr: cancelled");
  }
  if (status != 0) {
    api.Clear();
    throw Error(ErrorCode::internal, "ocr: Tesseract failed to recognize an image of " +
                                         std::to_string(gray.width_px) + "x" +
                                         std::to_string(gray.height_px) + " px");
  }

  std::vector<OcrLine> lines;
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (it) {
    do {
      if (it->Empty(tesseract::RIL_WORD)) continue;
      if (lines.empty() || it->IsAtBeginningOf(tesseract::RIL_TEXTLINE)) {
        lines.emplace_back();
        lines.back().box = box_of(*it, tesseract::RIL_TEXTLINE, scale_x);
      }
      std::unique_ptr<char[]> text(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!text || text[0] == 0) continue;
      OcrWord word;
      word.text = text.get();
      word.box = box_of(*it, tesseract::RIL_WORD, scale_x);
      word.confidence = it->Confidence(tesseract::RIL_WORD);
      lines.back().words.push_back(std::move(word));
    } while (it->Next(tesseract::RIL_WORD));
  }
  api.Clear();

  std::vector<OcrLine> out;
  for (auto& line : lines) {
    if (line.words.empty()) continue;
    float confidence_sum = 0;
    for (size_t i = 0; i < line.words.size(); ++i) {
      if (i) line.text += ' ';
      line.text += line.words[i].text;
      confidence_sum += line.words[i].confidence;
    }
    line.confidence = confidence_sum / line.words.size();
    out.push_back(std::move(line));
  }
  return out;
}

namespace {

// A closing double quote after sentence punctuation is often read as "*" ("you.*", "well,*[2]").
std::string fix_closing_quote(std::string_view word) {
  std::string out(word);
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i] != '*' || !std::strchr(".,!?;:", out[i - 1])) continue;
    if (i + 1 == out.size() || out[i + 1] == '[') out[i] = '"';
  }
  return out;
}

}  // namespace

std::string fix_common_confusions(std::string_view word) {
  // Tesseract reads the pronoun "I" as "|" at low resolution. A word that is only "|", perhaps
  // with opening quotes before it, punctuation after it or a contraction ("|'m"), is almost
  // always "I" in prose; a "|" inside a longer token (tables, code, "a|b") is left alone.
  std::string_view rest = word;
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (std::string_view opening : {"\"", "\u201C", "'", "\u2018", "("}) {
      if (rest.starts_with(opening)) {
        rest.remove_prefix(opening.size());
        stripped = true;
      }
    }
  }
  if (!rest.starts_with('|')) return fix_closing_quote(word);
  const size_t bar = word.size() - rest.size();
  rest.remove_prefix(1);
  for (std::string_view contraction :
       {"'m", "'ll", "'d", "'ve", "\u2019m", "\u2019ll", "\u2019d", "\u2019ve"}) {
    if (rest.starts_with(contraction)) {
      rest.remove_prefix(contraction.size());
      break;
    }
  }
  while (!rest.empty()) {
    bool closing = false;
    for (std::string_view mark :
         {".", ",", ";", ":", "!", "?", "\"", "'", ")", "\u201D", "\u2019", "\u2026"}) {
      if (rest.starts_with(mark)) {
        rest.remove_prefix(mark.size());
        closing = true;
        break;
      }
    }
    if (!closing) return std::string(word);
  }
  std::string out = fix_closing_quote(word);
  out[bar] = 'I';
  return out;
}

}  // namespace glyph::detail

namespace glyph {

std::string tesseract_version() {
  return tesseract::TessBaseAPI::Version();
}

double effective_upscale(const OcrOptions& options, double image_dpi) {
  if (options.upscale > 0) return options.upscale;
  const double dpi = image_dpi > 0 ? image_dpi : 72.0;
  return std::clamp(options.target_dpi / dpi, 1.0, 4.0);
}

}  // namespace glyph
