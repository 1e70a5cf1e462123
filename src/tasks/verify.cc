// verify: the OCR round trip and its character error rate.
#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "tasks/tasks.h"

namespace glyph {
namespace {

bool is_white_space(char32_t c) {
  // Unicode White_Space.
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

}  // namespace

namespace {

// Scripts written without spaces between words: Han, kana, CJK punctuation and full-width forms.
bool is_unspaced_cjk(char32_t c) {
  return (c >= 0x3000 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x20000 && c <= 0x3FFFF);
}

}  // namespace

std::u32string normalize_for_cer(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t c : text) {
    if (is_white_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    // Tesseract separates the "words" of Chinese lines (often single characters) by spaces that
    // the text does not have: a space between two CJK characters is dropped on both sides.
    if (pending_space && !(is_unspaced_cjk(out.back()) && is_unspaced_cjk(c))) out += U' ';
    pending_space = false;
    out += c;
  }
  return out;
}

size_t edit_distance(std::u32string_view a, std::u32string_view b) {
  if (a.size() < b.size()) std::swap(a, b);
  // One row over the shorter string; O(|a| |b|) time, O(|b|) memory.
  std::vector<uint32_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0u);
  for (size_t i = 1; i <= a.size(); ++i) {
    uint32_t diagonal = row[0];
    row[0] = static_cast<uint32_t>(i);
    const char32_t ca = a[i - 1];
    for (size_t j = 1; j <= b.size(); ++j) {
      const uint32_t above = row[j];
      const uint32_t substitution = diagonal + (ca == b[j - 1] ? 0u : 1u);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

FidelityReport verify_round_trip(const RenderedDocument& document, const OcrOptions& ocr,
                                 const TaskCallbacks& callbacks) {
  const auto start = std::chrono::steady_clock::now();
  FidelityReport report;
  report.dpi = document.dpi();
  report.ocr = ocr;
  const size_t pages = document.page_count();
  document.rasterize_all(0, [&](size_t done, size_t total) {
    if (callbacks.on_progress) callbacks.on_progress({"render", done, total});
  });
  std::vector<PageInput> inputs;
  for (size_t p = 0; p < pages; ++p) {
    PageInput input;
    input.page_number = document.layout().pages[p].number;
    input.image = document.page_image(p);
    input.dpi = document.dpi();
    inputs.push_back(std::move(input));
  }
  OcrCallbacks ocr_callbacks;
  ocr_callbacks.is_cancelled = callbacks.is_cancelled;
  if (callbacks.on_progress) {
    ocr_callbacks.on_progress = [&](const OcrProgress& progress) {
      callbacks.on_progress({"ocr", progress.done, progress.total});
    };
  }
  const auto recognized = recognize_pages(inputs, ocr, ocr_callbacks);
  for (size_t p = 0; p < pages; ++p) {
    const auto& page = document.layout().pages[p];
    std::u32string drawn(std::u32string_view(document.text())
                             .substr(page.char_start, page.char_end - page.char_start));
    const NewlineStyle& newline = document.config().newline;
    if (!newline.line_break) {
      // A newline drawn inline (newline-markup): the page shows its marker text, not a break.
      std::u32string with_markers;
      for (char32_t c : drawn) {
        if (c == U'\n')
          with_markers += newline.inline_text;
        else
          with_markers += c;
      }
      drawn = std::move(with_markers);
    }
    const std::u32string reference = normalize_for_cer(drawn);
    std::string read;
    for (const auto& line : recognized[p].lines) {
      if (!read.empty()) read += ' ';
      read += line.text;
    }
    const std::u32string hypothesis = normalize_for_cer(decode_utf8(read).text);
    PageFidelity fidelity;
    fidelity.page = page.number;
    fidelity.reference_chars = reference.size();
    fidelity.errors = edit_distance(reference, hypothesis);
    fidelity.cer = reference.empty() ? (hypothesis.empty() ? 0.0 : 1.0)
                                     : static_cast<double>(fidelity.errors) / reference.size();
    fidelity.seconds = recognized[p].seconds;
    fidelity.from_cache = recognized[p].from_cache;
    report.reference_chars += fidelity.reference_chars;
    report.errors += fidelity.errors;
    report.pages.push_back(fidelity);
  }
  report.cer =
      report.reference_chars ? static_cast<double>(report.errors) / report.reference_chars : 0.0;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace glyph
