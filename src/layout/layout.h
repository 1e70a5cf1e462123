// lay_out: paragraphs, line breaking, alignment, pagination, in points (top-left origin, y down),
// independent of dpi.
//
// The default wrap mode reproduces the reference renderer (ReportLab's Paragraph + SimpleDocTemplate
// as the Glyph release uses them): the text is split at '\n', each 30 lines form one paragraph,
// lines are broken greedily at single spaces (runs of 2+ spaces never break), words wider than a
// line are split, and ReportLab's CJK rules apply to the whole text when it has a character in
// U+4E00..U+9FFF. See docs/layout.md.
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
  uint8_t font_index = 0;   // 0 = main font, 1.. = fallback fonts of the FontSet
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
  int number = 1;  // 1-based
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

// With config.max_text_tokens_per_page > 0, a page also ends before the line that would take its
// text over that many tokens (a single line over the cap gets a page of its own; lines are never
// split for it); `count_tokens` is then required (Error(invalid_config) without it).
Layout lay_out(std::u32string_view text, const RenderConfig& config, const FontSet& fonts,
               const TextTokenCounter& count_tokens = {});

// The text of a line as drawn (for layout.json and --lines): its characters, a newline drawn as a
// marker (the red "\n" markup) replaced by the marker's text, trailing spaces, newlines and form
// feeds removed.
std::u32string drawn_text(const LineLayout& line, std::u32string_view text, const RenderConfig& config);

}  // namespace glyph
