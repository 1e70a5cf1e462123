// Internals of the tasks module shared by its files.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "retrieval/retrieval.h"
#include "tasks/tasks.h"

namespace glyph::detail {

struct CharRange {
  size_t start = 0, end = 0;
};

// Retrieval units over the layout map: each line with the next line of the same page (a sentence
// often crosses a line break).
struct LineWindow {
  size_t page_index = 0;
  size_t first_line = 0, last_line = 0;  // inclusive
  std::string text;
};
std::vector<LineWindow> line_windows(const RenderedDocument& document);

// The box of text[range] on the page holding range.start: exact on its first and last line (from
// the glyph positions), whole lines between. Page is 1-based in the citation.
Citation citation_for_range(const RenderedDocument& document, CharRange range, std::string quote);

// The characters of the page's lines that a pixel box overlaps (by more than half a line's
// height), or nothing.
std::optional<CharRange> chars_in_box(const RenderedDocument& document, size_t page_index,
                                      const PixelBox& box);

// The part of text[range] that `quote` matches best (semi-global edit distance, case and
// quotation-mark style folded); also returns the distance.
CharRange align_quote(std::u32string_view text, CharRange range, std::u32string_view quote,
                      size_t* distance = nullptr);

// Share of the question's distinct terms (idf-weighted by `index`) that `passage` has.
double question_coverage(const Bm25Index& index, std::string_view question,
                         std::string_view passage);

}  // namespace glyph::detail
