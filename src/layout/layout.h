// lay_out: paragraphs, line breaking, alignment, pagination, in points (top-left origin, y down),
// independent of dpi.
//
// The default wrap mode reproduces the reference renderer (ReportLab's Paragraph +
// SimpleDocTemplate as the Glyph release uses them): the text is split at '\n', each 30 lines form
// one paragraph, lines are broken greedily at single spaces (runs of 2+ spaces never break), words
// wider than a line are split, and ReportLab's CJK rules apply to the whole text when it has a
// character in U+4E00..U+9FFF. See docs/layout.md.
//
// Reversibility: every character of the text belongs to exactly one line and one page (spaces
// where a line breaks and the newline characters too), so the char ranges of the lines of a page,
// and of the pages, are contiguous and cover [0, text.size()).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "font/font.h"

namespace glyph {

struct Rect {
  double x0_pt = 0, y0_pt = 0, x1_pt = 0, y1_pt = 0;
};

inline constexpr uint32_t kNoChar = 0xFFFFFFFFu;  // PlacedGlyph::char_index of decorations

// One glyph on a page: 20 bytes, since a long text has millions of them.
struct PlacedGlyph {
  float x_pt = 0;           // pen position (origin of the glyph)
  float y_pt = 0;           // baseline, top-left origin
  uint32_t char_index = 0;  // first character of the text this glyph draws; kNoChar for markers
  uint16_t glyph_id = 0;    // sfnt glyph ids are 16-bit
  uint16_t x_scale_q16 = 0xFFFF;  // horizontal scale in 1/65535 (see x_scale())
  uint8_t font_index = 0;         // 0 = main font, 1.. = fallback fonts of the FontSet
  Rgb color;

  // Horizontal scale of this glyph: 1 for nearly all; a fallback glyph wider than the advance the
  // reference gives its character is narrowed to fit (FallbackMetrics::reference).
  float x_scale() const { return static_cast<float>(x_scale_q16) / 65535.0f; }
  void set_x_scale(double scale) {
    x_scale_q16 = static_cast<uint16_t>(std::lround(std::clamp(scale, 0.0, 1.0) * 65535.0));
  }
};
static_assert(sizeof(PlacedGlyph) == 20);

struct LineLayout {
  std::size_t char_start = 0, char_end = 0;  // [start, end) in code points of the text
  // The ink box of the line as a PDF text extractor reports it: from the first to the last drawn
  // glyph's advance, from baseline - ascent to baseline - descent of the font.
  double x0_pt = 0, y0_pt = 0, x1_pt = 0, y1_pt = 0;
  double baseline_pt = 0;
  bool ends_with_newline = false;  // ended by a newline of the text (a <br/>), not by the width
  // Characters of [char_start, char_end) the reference does not draw at all (spaces it drops
  // where it rejoins the lines of a paragraph continued on the next page); usually empty.
  std::vector<uint32_t> hidden_chars;
  // Spaces the reference draws that are not characters of the text (it adds them where it
  // rejoins a continued paragraph's lines), each given as the character it precedes.
  std::vector<uint32_t> inserted_spaces;
  std::vector<PlacedGlyph> glyphs;
};

struct PageLayout {
  int number = 1;     // 1-based
  bool last = false;  // the document's last page (auto-crop-last-page applies to it)
  // A break (a form feed, a paragraph moved on whole, the end of the text) left room for at least
  // one more line below the page's last line (auto-crop-height applies to it); false for a page
  // its lines fill.
  bool cut_short = false;
  std::size_t char_start = 0, char_end = 0;
  std::vector<LineLayout> lines;
  std::vector<Rect> para_backgrounds;  // filled with config.para_bg_color, drawn first
  std::vector<Rect> para_borders;      // stroked with config.para_border_color, border_width_pt
  std::vector<PlacedGlyph> markers;    // page marker glyphs (header/footer), char_index = kNoChar
};

struct Layout {
  double page_width_pt = 0, page_height_pt = 0;
  std::vector<PageLayout> pages;
  std::size_t char_count = 0;
  std::size_t missing_glyph_chars = 0;  // characters no font of the set has (drawn as .notdef)
  std::size_t fallback_chars = 0;       // characters drawn from a fallback font
  bool cjk_wrap = false;                // ReportLab's CJK wrapping was used
};

// Counts the text tokens of a stretch of the text, for config.max_text_tokens_per_page (the
// tokens module makes one from a tokenizer: text_token_counter() in tokens/page_tokens.h).
using TextTokenCounter = std::function<std::size_t(std::u32string_view)>;

namespace detail {
struct PageLayouterState;
}

// The layout of a text page by page: next_page() lays out just enough of the text to finish the
// next page and hands it over, so that a long document is drawn while it is laid out, in memory
// that does not grow with its length. What it holds at a time: the page being filled and the
// finished pages waiting for the first line of a later page (a page's last line runs to the next
// line's start, and only then is it known not to be the last page: one page, plus any empty pages
// of consecutive form feeds), and the current paragraph's remaining lines up to a page ahead
// (ReportLab's CJK continuation looks three pages ahead), besides the paragraph's words (Latin)
// or characters with their widths (CJK). A paragraph is 30 source lines, so a text without
// newlines is one paragraph: its words or characters are held whole (24 bytes per word or per
// CJK character), its glyphs are not. `wrap: unicode` breaks each paragraph whole.
//
// The pages are those lay_out() gives, byte for byte: `text`, `config`, `fonts` and
// `count_tokens` must outlive the layouter. With page markers on ("page N of M"), the page count
// is needed before the first page: the constructor lays the text out once to count them.
class PageLayouter {
 public:
  // Throws what lay_out() throws for the config (Error(invalid_config) for a token cap without
  // a counter, Error(limit_exceeded) for a text over 4 billion characters).
  PageLayouter(std::u32string_view text, const RenderConfig& config, const FontSet& fonts,
               const TextTokenCounter& count_tokens = {});
  ~PageLayouter();
  PageLayouter(PageLayouter&&) noexcept;
  PageLayouter& operator=(PageLayouter&&) noexcept;

  // Moves the next page into `page` (final: char ranges, markers, `last`); false after the last.
  // A text always has at least one page (an empty text: one empty page).
  bool next_page(PageLayout& page);
  // The layout is complete: the last page was handed over.
  bool done() const;
  // Pages handed over so far; characters of the text they cover ([0, chars_done())).
  std::size_t pages_done() const;
  std::size_t chars_done() const;

  // Counts of the pages handed over so far (complete once done()).
  std::size_t missing_glyph_chars() const;
  std::size_t fallback_chars() const;
  bool cjk_wrap() const;  // ReportLab's CJK wrapping is used (decided from the whole text)

  // What is held now (for tests of the memory bound): finished or open pages not yet handed
  // over, and lines of the current paragraph made but not yet placed on a page.
  std::size_t pages_held() const;
  std::size_t lines_held() const;

 private:
  std::unique_ptr<detail::PageLayouterState> state_;
};

// The whole text at once, built on PageLayouter.
// With config.max_text_tokens_per_page > 0, a page also ends before the line that would take its
// text over that many tokens (a single line over the cap gets a page of its own; lines are never
// split for it); `count_tokens` is then required (Error(invalid_config) without it).
Layout lay_out(std::u32string_view text, const RenderConfig& config, const FontSet& fonts,
               const TextTokenCounter& count_tokens = {});

// The text of a line as drawn (for layout.json and --lines): its characters, a newline drawn as a
// marker (the red "\n" markup) replaced by the marker's text, trailing spaces, newlines and form
// feeds removed.
std::u32string drawn_text(const LineLayout& line, std::u32string_view text,
                          const RenderConfig& config);

}  // namespace glyph
