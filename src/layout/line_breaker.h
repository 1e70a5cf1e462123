// Internal to the layout module: line breaking of one paragraph, in ReportLab's manner
// (platypus/paragraph.py breakLines, cjkFragSplit; lib/textsplit.py dumbSplit) or by UAX #14.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "font/font.h"
#include "layout/layout.h"

namespace glyph::detail {

bool is_cjk_ideograph(char32_t c);
bool is_break_space(char32_t c);

class LineBreaker {
 public:
  LineBreaker(const RenderConfig& config, const FontSet& fonts, double frame_width_pt);
  // How many lines a continued paragraph rebuilds (a few pages' worth).
  void set_lines_per_page(size_t lines) {
    continuation_window_lines_ = std::max<size_t>(3 * lines + 16, 64);
  }
  void set_cjk(bool cjk) { cjk_ = cjk; }
  // Starts the paragraph text[start, end) (source lines separated by '\n'). Its lines come from
  // fill(), in order, with glyphs placed relative to the frame's left edge and the line's baseline
  // at y = 0. Each line's char_start is its first character (its end is fixed by the caller from
  // the next line's start). In reportlab mode the lines are made as they are asked for (memory
  // per paragraph: its tokens or CJK units, not its glyphs); unicode mode breaks it whole.
  void begin_paragraph(std::u32string_view text, size_t start, size_t end,
                       bool ends_with_page_break);
  // Appends the paragraph's next lines to `lines` until it holds `size` lines or the paragraph
  // has no more.
  void fill(std::vector<LineLayout>& lines, size_t size);
  bool paragraph_done() const { return done_; }
  // Places the glyphs of lines[index] (the caller's vector) if they are not there yet: in CJK mode
  // a line gets them only when it is about to be placed on a page.
  void draw_line(size_t index, LineLayout& line);
  // The caller erased lines[0, count) (placed, not needed by continue_paragraph any more).
  void drop_lines(size_t count);
  // After lines[0, first) went on one page: makes the lines from the returned index on what
  // ReportLab draws for the rest of the paragraph on the next page (it breaks the remainder again
  // as a new paragraph). May reuse the slots before `first`; makes (fill) the lines it needs.
  size_t continue_paragraph(size_t first, std::vector<LineLayout>& lines);
  size_t missing_chars() const { return missing_; }
  size_t fallback_chars() const { return fallback_; }

 private:
  struct Token {
    uint32_t start = 0, end = 0;  // characters of the text; a marker or break: the '\n'
    double width_pt = 0;
    bool hanging_space = false;  // a breaking space follows
    enum Kind : uint8_t { word, line_break, marker, piece, last_piece } kind = word;
    bool break_after = false;  // the first piece of a split word ends its line
  };
  struct PendingLine {
    std::vector<Token> tokens;
    double width_pt = 0;
    double max_width_pt = 0;
    int word_count = 0;
    bool line_break = false;  // ended by a <br/>
    size_t anchor = 0;
  };

  // Where the greedy Latin breaking of the current paragraph stands (resumed by fill()).
  struct LatinRun {
    size_t line_index = 0;
    PendingLine cur;
    double pending_space = 0;
    int joins = 0;
    bool empty = true;
    std::vector<Token> pieces;  // a split word's pieces, consumed before the next token
    size_t next_piece = 0;
    size_t next_token = 0;
  };

  // Tokens of text[start, end) up to a token boundary at or after `chars` characters; returns
  // where it stopped.
  size_t tokenize(std::u32string_view text, size_t start, size_t end, std::vector<Token>& tokens,
                  size_t chars) const;
  bool next_token_ready(size_t& next_token);
  // Returns true when the paragraph's tokens are all placed on lines.
  bool break_latin(std::vector<LineLayout>& lines, size_t size);
  struct CjkUnit {
    char32_t c;      // drawn character (0 for a line break)
    uint32_t index;  // character of the text
    double width_pt;
    bool line_break;
    bool marker;
    bool inserted = false;  // a space the reference adds when it continues a paragraph
  };
  struct CjkLine {
    size_t unit_start = 0, unit_end = 0;
    bool line_break = false;
    bool stripped = false;
    bool base = true;  // units in cjk_base_units_ (else in cjk_units_)
    // What draw_line needs: the units drawn (stripped), the line's placement.
    size_t draw_start = 0, draw_end = 0;
    double extra_pt = 0, indent_pt = 0;
    bool last = false;
    bool drawn = false;
  };
  static bool is_single_fragment(std::u32string_view text, size_t start, size_t end);
  // Where the CJK breaking of a unit sequence stands.
  struct CjkRun {
    size_t line_index = 0;
    size_t i = 0, line_start = 0;
    double max_w = 0, width_used = 0;
    bool started = false;
  };
  void begin_cjk(std::u32string_view text, size_t start, size_t end);
  void build_cjk_units(size_t count);
  // Breaks units into lines until `lines` holds `size`; true when the units are all placed.
  bool break_cjk_units(const std::vector<CjkUnit>& units, bool base, CjkRun& run,
                       std::vector<LineLayout>& lines, std::vector<CjkLine>& info, size_t size);
  void emit_cjk_line(const std::vector<CjkUnit>& units, bool base, size_t a, size_t b, double extra,
                     bool line_break, bool last, size_t line_index, std::vector<LineLayout>& lines,
                     std::vector<CjkLine>& info);
  void break_unicode(std::u32string_view text, size_t start, size_t end,
                     std::vector<LineLayout>& lines);
  void emit(std::u32string_view text, PendingLine& line, bool last, size_t line_index,
            std::vector<LineLayout>& lines);
  double max_width(size_t line_index) const {
    return line_index == 0 && !continuation_ ? first_width_pt_ : later_width_pt_;
  }
  double first_line_indent(size_t line_index) const {
    return line_index == 0 && !continuation_ ? config_.first_line_indent_pt : 0;
  }
  double char_width_pt(char32_t c) const;
  double word_width_pt(std::u32string_view text, uint32_t start, uint32_t end) const;
  void place_char(LineLayout& line, char32_t c, uint32_t index, double& x, Rgb color);
  void finish_box(LineLayout& line, double x_end) const;

  const RenderConfig& config_;
  const FontSet& fonts_;
  // The current paragraph.
  std::u32string_view text_;
  size_t start_ = 0, end_ = 0;
  bool done_ = true;
  std::vector<Token> tokens_;  // made up to tokenized_to_, those before latin_.next_token taken
  size_t tokenized_to_ = 0;
  bool single_frag_ = false;
  LatinRun latin_;
  CjkRun cjk_run_;
  bool cjk_ = false;
  bool continuation_ = false;  // breaking the rest of a split paragraph: no first-line indent
  std::vector<CjkUnit> cjk_base_units_;  // the current CJK paragraph, made up to cjk_built_to_
  size_t cjk_built_to_ = 0;
  std::vector<CjkUnit> cjk_units_;  // its latest continuation, rebuilt from lines
  std::vector<CjkLine> cjk_lines_;  // its lines, aligned with the caller's line vector
  size_t continuation_window_lines_ = 256;
  bool cjk_single_frag_ = false;
  double first_width_pt_, later_width_pt_;
  double space_width_pt_;
  std::u32string marker_words_;                           // the newline markup's inline text
  std::vector<std::pair<size_t, size_t>> marker_ranges_;  // its words, as ranges of marker_words_
  bool marker_leading_space_ = false, marker_trailing_space_ = false;
  size_t missing_ = 0, fallback_ = 0;
};

}  // namespace glyph::detail
