// PDF → text with poppler-cpp, page by page in reading order.
//
// Poppler's reading-order mode joins the lines of a block with spaces and removes a '-' that ends
// a line (it treats it as hyphenation: "exam-\nple" becomes "example", but "well-\nknown" too
// becomes "wellknown"). Where the page's words show such a join, the hyphen is put back when
// dehyphenate_keeps_hyphen (the reflow stage's rule: compound first halves such as well, self,
// non; capitals or digits; the page's own spelling) says it belongs to the word. We add: soft
// hyphens (U+00AD) removed with the line break after them, ligatures U+FB00..FB06 expanded, pages
// separated as IngestOptions::pdf_page_separator says. Limits (file size, page count, page box) are
// checked before any page is read.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "core/utf8.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

void silence_poppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// Pages as "3, 5-7, 9" for messages.
std::string points(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string page_list(const std::vector<int>& pages) {
  std::string out;
  for (size_t i = 0; i < pages.size();) {
    size_t j = i;
    while (j + 1 < pages.size() && pages[j + 1] == pages[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += std::to_string(pages[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(pages[j]);
    }
    i = j + 1;
    if (out.size() > 200 && i < pages.size()) {
      out += ", ...";
      break;
    }
  }
  return out;
}

// Poppler's page text: trailing blank lines trimmed; a soft hyphen before a line break or space
// (hyphenation) removed together with that break; any other soft hyphen removed too, since a
// soft hyphen inside a line is invisible.
std::string clean_page_text(std::string text) {
  std::string out;
  out.reserve(text.size());
  const std::string_view shy = "\xC2\xAD";
  for (size_t i = 0; i < text.size();) {
    if (std::string_view(text).substr(i, 2) == shy) {
      i += 2;
      size_t j = i;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\n')) ++j;
      if (j > i && j < text.size() && static_cast<unsigned char>(text[j]) >= 'a' &&
          static_cast<unsigned char>(text[j]) <= 'z') {
        i = j;
      }
      continue;
    }
    // Poppler ends each page with a form feed; page breaks are ours to place.
    if (text[i] != '\f') out += text[i];
    ++i;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\r')) {
    out.pop_back();
  }
  return expand_ligatures(out);
}

bool ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Puts back the hyphen of compounds Poppler joined across a line end (see the header comment).
// `text` is the page's cleaned text; the words come from the page's text list, where a word
// split across lines keeps its hyphen ("well-") and its second half starts the next line.
std::string restore_compound_hyphens(std::string text, const poppler::page& page) {
  struct Join {
    std::size_t at;  // byte offset of the joined word in `text`
    std::string first, second;
  };
  std::vector<Join> joins;
  const std::vector<poppler::text_box> words = page.text_list();
  std::size_t cursor = 0;
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    const poppler::byte_array first_bytes = words[i].text().to_utf8();
    const std::string first_word =
        expand_ligatures(std::string_view(first_bytes.data(), first_bytes.size()));
    if (first_word.size() < 3 || first_word.back() != '-') continue;
    const poppler::rectf here = words[i].bbox(), next = words[i + 1].bbox();
    if (std::abs(next.y() - here.y()) < here.height() / 2) continue;  // same line: a real hyphen
    // The letters before the hyphen, and those the next line starts with.
    std::size_t start = first_word.size() - 1;
    while (start > 0 && ascii_letter(first_word[start - 1])) --start;
    const std::string first = first_word.substr(start, first_word.size() - 1 - start);
    const poppler::byte_array second_bytes = words[i + 1].text().to_utf8();
    const std::string second_word =
        expand_ligatures(std::string_view(second_bytes.data(), second_bytes.size()));
    std::size_t end = 0;
    while (end < second_word.size() && ascii_letter(second_word[end])) ++end;
    const std::string second = second_word.substr(0, end);
    if (first.size() < 2 || second.empty()) continue;
    const std::size_t at = text.find(first + second, cursor);
    if (at == std::string::npos) continue;
    cursor = at + first.size() + second.size();
    joins.push_back({at, first, second});
  }
  if (joins.empty()) return text;
  // The page's own spelling, without the words Poppler joined (they say nothing of it).
  std::string spelling = text;
  for (const Join& join : joins)
    spelling.replace(join.at, join.first.size() + join.second.size(),
                     join.first.size() + join.second.size(), ' ');
  const std::u32string page_text = decode_utf8(spelling).text;
  for (auto it = joins.rbegin(); it != joins.rend(); ++it)  // from the end: offsets stay valid
    if (dehyphenate_keeps_hyphen(decode_utf8(it->first).text, decode_utf8(it->second).text,
                                 page_text))
      text.insert(it->at + it->first.size(), "-");
  return text;
}

}  // namespace

Document read_pdf(std::string_view bytes, std::string_view name, const IngestOptions& options) {
  const std::string where(name);
  const IngestLimits& limits = options.limits;
  if (bytes.size() > limits.max_input_bytes || bytes.size() > 0x7FFFFFFF) {
    throw Error(ErrorCode::limit_exceeded, where + ": PDF of " + std::to_string(bytes.size()) +
                                               " bytes is over the limit of " +
                                               std::to_string(limits.max_input_bytes) + " bytes");
  }
  if (bytes.substr(0, 1024).find("%PDF-") == std::string_view::npos) {
    throw Error(ErrorCode::invalid_input, where + ": not a PDF (no %PDF- header)");
  }
  silence_poppler();
  // load_from_raw_data reads the bytes in place; they outlive the document.
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
      bytes.data(), static_cast<int>(bytes.size()), options.password, options.password));
  if (!doc) {
    throw Error(ErrorCode::invalid_input,
                where +
                    ": cannot read the PDF (damaged or truncated: no usable cross-reference "
                    "table or catalog)");
  }
  if (doc->is_locked()) {
    if (options.password.empty()) {
      throw Error(ErrorCode::invalid_input,
                  where + ": the PDF is encrypted; pass its password with --password");
    }
    throw Error(ErrorCode::invalid_input,
                where + ": the password does not open this encrypted PDF");
  }
  const int page_count = doc->pages();
  if (page_count <= 0) {
    throw Error(ErrorCode::invalid_input, where + ": the PDF has no pages (damaged page tree?)");
  }
  if (page_count > limits.max_pdf_pages) {
    throw Error(ErrorCode::limit_exceeded, where + ": " + std::to_string(page_count) +
                                               " pages, over the limit of " +
                                               std::to_string(limits.max_pdf_pages));
  }

  std::vector<std::unique_ptr<poppler::page>> pages(static_cast<size_t>(page_count));
  std::vector<int> unreadable;
  for (int i = 0; i < page_count; ++i) {
    pages[static_cast<size_t>(i)].reset(doc->create_page(i));
    const poppler::page* page = pages[static_cast<size_t>(i)].get();
    if (!page) {
      unreadable.push_back(i + 1);
      continue;
    }
    const poppler::rectf box = page->page_rect(poppler::media_box);
    const double width_pt = box.width(), height_pt = box.height();
    if (!std::isfinite(width_pt) || !std::isfinite(height_pt) ||
        std::fabs(width_pt) > limits.max_page_side_pt ||
        std::fabs(height_pt) > limits.max_page_side_pt) {
      throw Error(ErrorCode::limit_exceeded, where + ": page " + std::to_string(i + 1) +
                                                 " has a page box of " + points(width_pt) + " x " +
                                                 points(height_pt) + " pt, over the limit of " +
                                                 points(limits.max_page_side_pt) + " pt");
    }
  }

  Document out;
  out.format = "pdf";
  out.page_count = page_count;
  std::vector<int> empty_pages;
  for (int i = 0; i < page_count; ++i) {
    if (i > 0) {
      switch (options.pdf_page_separator) {
        case PdfPageSeparator::form_feed: out.text += '\f'; break;
        case PdfPageSeparator::marker:
          out.text += "\n--- page " + std::to_string(i + 1) + " ---\n";
          break;
        case PdfPageSeparator::newline: out.text += "\n\n"; break;
      }
    }
    out.page_starts.push_back(out.text.size());
    const poppler::page* page = pages[static_cast<size_t>(i)].get();
    if (!page) continue;
    const poppler::byte_array utf8 =
        page->text(poppler::rectf(), poppler::page::non_raw_non_physical_layout).to_utf8();
    std::string text =
        restore_compound_hyphens(clean_page_text(std::string(utf8.begin(), utf8.end())), *page);
    if (text.find_first_not_of(" \n\r\t\f") == std::string::npos) {
      empty_pages.push_back(i + 1);
      continue;
    }
    out.text += text;
    pages[static_cast<size_t>(i)].reset();  // free the page's resources as we go
  }
  if (!unreadable.empty()) {
    out.warnings.push_back(where + ": page(s) " + page_list(unreadable) + " could not be read");
  }
  if (unreadable.size() == static_cast<size_t>(page_count)) {
    throw Error(ErrorCode::invalid_input, where + ": no page could be read (damaged page tree?)");
  }
  if (empty_pages.size() + unreadable.size() == static_cast<size_t>(page_count)) {
    throw Error(ErrorCode::invalid_input,
                where + ": no page has text (" + std::to_string(page_count) +
                    " page(s), a scanned PDF? its pages need OCR before glyph can read them)");
  }
  if (!empty_pages.empty()) {
    out.warnings.push_back(where + ": page(s) " + page_list(empty_pages) +
                           " have no text (scanned images?); they are left empty");
  }
  return out;
}

}  // namespace glyph::detail
