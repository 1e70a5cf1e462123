#include "layout/line_breaker.h"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"

namespace glyph::detail {
namespace {

constexpr double kFuzz = 1e-6;
constexpr double kSpaceShrinkage = 0.05;  // ReportLab's rl_config.spaceShrinkage

// Characters ReportLab will not start a line with (lib/textsplit.py ALL_CANNOT_START).
bool cannot_start_line(char32_t c) {
  static constexpr std::u32string_view kChars =
      U"!',.:;?!\")]\u3001\u3002\u300d\u300f\u3011\u3015\uff3d\u3011\uff09"
      U"\u3005\u2015\u3041\u3043\u3045\u3047\u3049\u3063\u3083\u3085\u3087\u308e\u30a1\u30a3"
      U"\u30a5\u30a7\u30a9\u30c3\u30e3\u30e5\u30e7\u30ee\u30fc\u30f5\u30f6"
      U"\u309b\u309c\u30fb\u30fd\u30fe\u309d\u309e\u2015\u2010\u00b0\u2032\u2033\u2103\uffe0\uff05"
      U"\u2030";
  return kChars.find(c) != std::u32string_view::npos;
}

// Unicode general category Zs (what Python's unicodedata.category calls 'Zs').
bool is_space_separator(char32_t c) {
  return c == 0x20 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Python's str.isspace(), used by str.strip().
// ReportLab's placement of a finished line (paragraph.py drawPara): a "simple" line is shifted by
// its alignment; a justified one spreads its extra width over its `gaps` word spaces. Justified
// lines stay simple when they end in a break, fit exactly, or are the last and do not overflow.
struct LinePlacement {
  double offset_pt = 0;
  double word_space_pt = 0;
};

LinePlacement place_line(Alignment alignment, double extra_pt, bool ends_in_break, bool last_line,
                         double gaps) {
  bool simple = alignment == Alignment::justify
                    ? (ends_in_break || (extra_pt > -1e-8 && extra_pt <= 1e-8) ||
                       (last_line && extra_pt > -1e-8))
                    : extra_pt > -1e-8;
  LinePlacement placement;
  if (!simple) {
    if (gaps <= 0)
      simple = true;
    else
      placement.word_space_pt = extra_pt / gaps;
  }
  if (simple) {
    if (alignment == Alignment::center)
      placement.offset_pt = 0.5 * extra_pt;
    else if (alignment == Alignment::right)
      placement.offset_pt = extra_pt;
  }
  return placement;
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

bool draws_nothing(char32_t c) {
  return c == U' ' || c == 0xA0 || c == U'\n' || c == U'\f';
}

}  // namespace

LineBreaker::LineBreaker(const RenderConfig& config, const FontSet& fonts, double frame_width_pt)
    : config_(config), fonts_(fonts) {
  later_width_pt_ = frame_width_pt - config.left_indent_pt - config.right_indent_pt;
  first_width_pt_ = later_width_pt_ - config.first_line_indent_pt;
  space_width_pt_ = char_width_pt(U' ');
  if (!config.newline.line_break) {
    const std::u32string& inline_text = config.newline.inline_text;
    marker_leading_space_ = !inline_text.empty() && is_break_space(inline_text.front());
    marker_trailing_space_ = !inline_text.empty() && is_break_space(inline_text.back());
    size_t i = 0;
    while (i < inline_text.size()) {
      while (i < inline_text.size() && is_break_space(inline_text[i])) ++i;
      size_t j = i;
      while (j < inline_text.size() && !is_break_space(inline_text[j])) ++j;
      if (j > i) marker_ranges_.emplace_back(i, j);
      i = j;
    }
    marker_words_ = inline_text;
  }
}

double LineBreaker::char_width_pt(char32_t c) const {
  return 0.001 * fonts_.size_pt() * fonts_.lookup(c).width_milli_em;
}

// ReportLab's stringWidth: the sum in 1/1000 em, then scaled.
double LineBreaker::word_width_pt(std::u32string_view text, uint32_t start, uint32_t end) const {
  double sum = 0;
  for (uint32_t i = start; i < end; ++i) sum += fonts_.lookup(text[i]).width_milli_em;
  return 0.001 * fonts_.size_pt() * sum;
}

void LineBreaker::place_char(LineLayout& line, char32_t c, uint32_t index, double& x, Rgb color) {
  const CharGlyph g = fonts_.lookup(c);
  if (!draws_nothing(c)) {
    PlacedGlyph placed{.x_pt = static_cast<float>(x),
                       .y_pt = 0.0f,
                       .char_index = index,
                       .glyph_id = static_cast<uint16_t>(g.glyph_id),
                       .font_index = static_cast<uint8_t>(g.font_index),
                       .color = color};
    if (g.glyph_width_milli_em != g.width_milli_em && g.glyph_width_milli_em > 0) {
      // A fallback glyph in the reference's advance: centered, narrowed when wider.
      const double scale = std::min(1.0, g.width_milli_em / g.glyph_width_milli_em);
      placed.set_x_scale(scale);
      placed.x_pt = static_cast<float>(x + 0.0005 * fonts_.size_pt() *
                                               (g.width_milli_em - g.glyph_width_milli_em * scale));
    }
    if (line.glyphs.empty()) line.x0_pt = x;  // the box spans inked characters, as pdftotext's
    line.glyphs.push_back(placed);
    line.x1_pt = x + 0.001 * fonts_.size_pt() * g.width_milli_em;
    if (index != kNoChar) {
      if (g.missing)
        ++missing_;
      else if (g.font_index != 0)
        ++fallback_;
    }
  }
  x += 0.001 * fonts_.size_pt() * g.width_milli_em;
}

void LineBreaker::finish_box(LineLayout& line, double x_end) const {
  if (line.glyphs.empty()) line.x1_pt = line.x0_pt;
  line.baseline_pt = 0;
  line.y0_pt = -fonts_.ascent_pt();
  line.y1_pt = -fonts_.descent_pt();
}

// Words, breaks and newline markers of a paragraph, as ReportLab's _getFragWords sees them.
size_t LineBreaker::tokenize(std::u32string_view text, size_t start, size_t end,
                             std::vector<Token>& tokens, size_t chars) const {
  const bool markers = !config_.newline.line_break;
  auto is_separator = [&](size_t i) {
    const char32_t c = text[i];
    if (c == U' ') {  // runs of two or more spaces are non-breaking (&nbsp;)
      const bool run =
          (i > 0 && text[i - 1] == U' ') || (i + 1 < text.size() && text[i + 1] == U' ');
      return !run;
    }
    return is_break_space(c);
  };
  size_t i = start;
  const size_t stop = end - start > chars ? start + chars : end;
  while (i < stop) {
    const char32_t c = text[i];
    if (c == U'\n') {
      if (markers) {
        if (marker_leading_space_ && !tokens.empty()) tokens.back().hanging_space = true;
        for (size_t m = 0; m < marker_ranges_.size(); ++m) {
          Token t;
          t.start = static_cast<uint32_t>(i);
          t.end = static_cast<uint32_t>(i + 1);
          t.kind = Token::marker;
          t.width_pt = word_width_pt(marker_words_, static_cast<uint32_t>(marker_ranges_[m].first),
                                     static_cast<uint32_t>(marker_ranges_[m].second));
          t.hanging_space = m + 1 < marker_ranges_.size() || marker_trailing_space_;
          tokens.push_back(t);
        }
      } else {
        Token t;
        t.start = static_cast<uint32_t>(i);
        t.end = static_cast<uint32_t>(i + 1);
        t.kind = Token::line_break;
        tokens.push_back(t);
      }
      ++i;
      continue;
    }
    if (is_separator(i)) {
      if (!tokens.empty() && tokens.back().kind != Token::line_break)
        tokens.back().hanging_space = true;
      ++i;
      continue;
    }
    size_t j = i;
    double sum = 0;
    while (j < end && text[j] != U'\n' && !is_separator(j))
      sum += fonts_.lookup(text[j++]).width_milli_em;
    Token t;
    t.start = static_cast<uint32_t>(i);
    t.end = static_cast<uint32_t>(j);
    t.width_pt = 0.001 * fonts_.size_pt() * sum;
    tokens.push_back(t);
    i = j;
  }
  return i;
}

void LineBreaker::emit(std::u32string_view text, PendingLine& pending, bool last, size_t line_index,
                       std::vector<LineLayout>& lines) {
  LineLayout line;
  line.char_start = pending.anchor;
  line.ends_with_newline = pending.line_break;
  const double extra = pending.max_width_pt - pending.width_pt;
  size_t nbsp = 0;
  for (const Token& t : pending.tokens)
    if (t.kind == Token::word || t.kind == Token::piece || t.kind == Token::last_piece)
      for (uint32_t i = t.start; i < t.end; ++i) nbsp += text[i] == U' ' || text[i] == 0xA0;
  const auto [offset, word_space] =
      place_line(config_.alignment, extra, pending.line_break, last,
                 static_cast<double>(pending.word_count) + static_cast<double>(nbsp) - 1);
  double x = config_.left_indent_pt + first_line_indent(line_index) + offset;
  line.x0_pt = x;
  size_t chars = 0;
  for (const Token& t : pending.tokens)
    chars += t.kind == Token::marker ? marker_words_.size() : t.end - t.start;
  line.glyphs.reserve(chars);
  bool first = true;
  bool previous_hanging = false;
  for (const Token& t : pending.tokens) {
    if (t.kind == Token::line_break) continue;
    if (!first && previous_hanging) x += space_width_pt_ + word_space;
    first = false;
    previous_hanging = t.hanging_space;
    if (t.kind == Token::marker) {
      // Which word of the markup: count the marker tokens of this '\n' before this one.
      size_t m = 0;
      for (const Token* p = &t; p != pending.tokens.data() && (p - 1)->kind == Token::marker &&
                                (p - 1)->start == t.start;
           --p)
        ++m;
      const auto [a, b] = marker_ranges_[std::min(m, marker_ranges_.size() - 1)];
      for (size_t k = a; k < b; ++k)
        place_char(line, marker_words_[k], t.start, x, config_.newline.inline_color);
      continue;
    }
    // Runs of spaces inside a word are &nbsp; in the reference, which spaces them like word gaps.
    for (uint32_t i = t.start; i < t.end; ++i) {
      place_char(line, text[i], i, x, config_.font_color);
      if (text[i] == U' ' || text[i] == 0xA0) x += word_space;
    }
  }
  finish_box(line, x);
  lines.push_back(std::move(line));
}

// Tokens are made a chunk at a time, as the breaking reaches them, and dropped once taken: a
// token is final once the next one exists (a following space sets its hanging_space).
bool LineBreaker::next_token_ready(size_t& next_token) {
  constexpr size_t kChunkChars = 4096;
  while (next_token + 1 >= tokens_.size() && tokenized_to_ < end_) {
    if (next_token >= kChunkChars) {
      tokens_.erase(tokens_.begin(), tokens_.begin() + static_cast<std::ptrdiff_t>(next_token));
      next_token = 0;
    }
    tokenized_to_ = tokenize(text_, tokenized_to_, end_, tokens_, kChunkChars);
  }
  return next_token < tokens_.size();
}

bool LineBreaker::break_latin(std::vector<LineLayout>& lines, size_t size) {
  const std::u32string_view text = text_;
  std::vector<Token>& tokens = tokens_;
  const bool single_frag = single_frag_;
  LatinRun& run = latin_;
  size_t& line_index = run.line_index;
  PendingLine& cur = run.cur;
  double& pending_space = run.pending_space;
  int& joins = run.joins;
  bool& empty = run.empty;
  std::vector<Token>& pieces = run.pieces;
  size_t& next_piece = run.next_piece;
  size_t& next_token = run.next_token;

  auto end_line = [&](bool line_break) {
    cur.line_break = line_break;
    emit(text, cur, false, line_index, lines);
    ++line_index;
    cur = PendingLine{};
    cur.max_width_pt = max_width(line_index);
    empty = true;
  };

  while (lines.size() < size) {
    Token w;
    if (next_piece < pieces.size()) {
      w = pieces[next_piece++];
    } else if (next_token_ready(next_token)) {
      pieces.clear();
      next_piece = 0;
      w = tokens[next_token++];
    } else {
      if (!empty && !cur.tokens.empty()) emit(text, cur, true, line_index, lines);
      return true;
    }
    if (empty) {
      cur.width_pt = 0;
      cur.word_count = 0;
      pending_space = 0;
      joins = 0;
    }
    if (w.kind == Token::line_break) {
      if (empty) cur.anchor = w.start;
      cur.tokens.push_back(w);
      end_line(true);
      continue;
    }
    const double word_width = w.width_pt;
    const double new_width =
        word_width > 0 ? cur.width_pt + pending_space + word_width : cur.width_pt;
    const double limit =
        single_frag
            ? cur.max_width_pt +
                  kSpaceShrinkage * space_width_pt_ * static_cast<double>(cur.tokens.size())
            : cur.max_width_pt + kSpaceShrinkage * (pending_space + joins * space_width_pt_);
    if (new_width > limit && w.kind != Token::last_piece && w.kind != Token::piece &&
        w.kind != Token::marker && word_width > max_width(line_index)) {
      // Split an over-long word (ReportLab's _splitWord / _splitFragWord), piece by piece.
      std::vector<Token> split;
      double line_width = single_frag ? cur.width_pt + pending_space : 0;
      double limit_width =
          single_frag ? cur.max_width_pt : cur.max_width_pt - pending_space - cur.width_pt;
      if (empty) line_width = 0, limit_width = cur.max_width_pt;
      size_t lines_ahead = line_index;
      uint32_t piece_start = w.start;
      double piece_width = 0;
      for (uint32_t i = w.start; i < w.end; ++i) {
        const double cw = char_width_pt(text[i]);
        double new_line_width = line_width + cw;
        if (new_line_width > limit_width) {
          Token p;
          p.start = piece_start;
          p.end = i;
          p.width_pt = single_frag ? word_width_pt(text, piece_start, i) : piece_width;
          p.kind = Token::piece;
          split.push_back(p);
          ++lines_ahead;
          limit_width = max_width(lines_ahead);
          new_line_width = cw;
          piece_start = i;
          piece_width = 0;
        }
        piece_width += cw;
        line_width = new_line_width;
      }
      Token p;
      p.start = piece_start;
      p.end = w.end;
      p.width_pt = single_frag ? word_width_pt(text, piece_start, w.end) : piece_width;
      p.kind = Token::last_piece;
      p.hanging_space = w.hanging_space;
      split.push_back(p);
      if (split.size() > 1)
        split.front().break_after = !single_frag || split.front().start == split.front().end;
      // Replace the remaining queue: pieces first, then what was left of an earlier split.
      split.insert(split.end(), pieces.begin() + static_cast<std::ptrdiff_t>(next_piece),
                   pieces.end());
      pieces = std::move(split);
      next_piece = 0;
      continue;
    }
    const bool has_text = w.end > w.start || w.kind == Token::marker;
    const bool end_of_line = new_width > limit && cur.word_count > 0;
    if (!end_of_line) {
      if (empty) cur.anchor = w.start;
      if (!empty && pending_space > 0) ++joins;
      cur.tokens.push_back(w);
      if (has_text) ++cur.word_count;
      cur.width_pt = new_width;
      pending_space = w.hanging_space ? space_width_pt_ : 0;
      empty = false;
      if (w.break_after) end_line(false);
    } else {
      end_line(false);
      cur.anchor = w.start;
      cur.tokens.push_back(w);
      cur.width_pt = word_width;
      cur.word_count = 1;
      joins = 0;
      pending_space = w.hanging_space ? space_width_pt_ : 0;
      empty = false;
      if (w.break_after) end_line(false);
    }
  }
  return false;
}

// ReportLab's CJK wrapping (cjkFragSplit; dumbSplit for a paragraph of one source line): breaks
// between any two characters, pushes back the overflowing character unless it may not start a
// line, and in non-Asian runs backs up to the last space or ideograph.
void LineBreaker::begin_cjk(std::u32string_view text, size_t start, size_t end) {
  cjk_base_units_.clear();
  cjk_base_units_.reserve(end - start);  // address space only: pages are touched as units are made
  cjk_units_.clear();
  cjk_single_frag_ = is_single_fragment(text, start, end);
  cjk_built_to_ = start;
  cjk_lines_.clear();
  cjk_run_ = CjkRun{};
}

// The paragraph's units are made a chunk at a time, as the breaking reaches them.
void LineBreaker::build_cjk_units(size_t count) {
  if (cjk_base_units_.size() >= count) return;
  const size_t target = count + 4096;
  const std::u32string_view text = text_;
  while (cjk_base_units_.size() < target && cjk_built_to_ < end_) {
    const size_t i = cjk_built_to_++;
    if (text[i] == U'\n') {
      if (config_.newline.line_break) {
        cjk_base_units_.push_back(CjkUnit{0, static_cast<uint32_t>(i), 0, true, false});
      } else {
        for (char32_t c : marker_words_)
          cjk_base_units_.push_back(
              CjkUnit{c, static_cast<uint32_t>(i), char_width_pt(c), false, true});
      }
      continue;
    }
    const char32_t c = text[i];
    cjk_base_units_.push_back(CjkUnit{c, static_cast<uint32_t>(i), char_width_pt(c), false, false});
  }
}

void LineBreaker::emit_cjk_line(const std::vector<CjkUnit>& units, bool base, size_t a, size_t b,
                                double extra, bool line_break, bool last, size_t line_index,
                                std::vector<LineLayout>& lines, std::vector<CjkLine>& info) {
  const size_t n = units.size();
  LineLayout line;
  line.char_start = units[std::min(a, n - 1)].index;
  line.ends_with_newline = line_break;
  // dumbSplit strips each line but the last (Python str.strip); the stripped characters draw
  // nothing.
  size_t draw_a = a, draw_b = b;
  const bool stripped = cjk_single_frag_ && !last;
  if (stripped) {
    while (draw_a < draw_b && is_python_space(units[draw_a].c)) ++draw_a;
    while (draw_b > draw_a && is_python_space(units[draw_b - 1].c)) --draw_b;
  }
  // The glyphs come when the line is placed (draw_line): most lines made ahead for a
  // continuation window are only looked at, or made again.
  line.x0_pt = config_.left_indent_pt + first_line_indent(line_index);
  finish_box(line, line.x0_pt);
  lines.push_back(std::move(line));
  CjkLine made{a, b, line_break, stripped, base};
  made.draw_start = draw_a;
  made.draw_end = draw_b;
  made.extra_pt = extra;
  made.indent_pt = first_line_indent(line_index);
  made.last = last;
  info.push_back(made);
}

void LineBreaker::draw_line(size_t index, LineLayout& line) {
  if (!cjk_ || index >= cjk_lines_.size() || cjk_lines_[index].drawn)
    return;  // others are drawn when made
  CjkLine& made = cjk_lines_[index];
  made.drawn = true;
  const std::vector<CjkUnit>& units = made.base ? cjk_base_units_ : cjk_units_;
  const size_t n = units.size();
  const size_t draw_a = made.draw_start, draw_b = made.draw_end;
  size_t nbsp = 0;  // &nbsp; of the reference: U+00A0 and spaces in runs of two or more
  for (size_t k = draw_a; k < draw_b; ++k) {
    const char32_t c = units[k].c;
    // (the markup's spaces never join a run: runs were turned into &nbsp; before the markup was
    // added)
    auto text_space = [&](size_t m) { return units[m].c == U' ' && !units[m].marker; };
    const bool in_run =
        text_space(k) && ((k > 0 && text_space(k - 1)) || (k + 1 < n && text_space(k + 1)));
    nbsp += c == 0xA0 || in_run;
  }
  // wordCount 1 + nbsp - 1 gaps share the extra width
  const auto [offset, word_space] =
      place_line(config_.alignment, made.extra_pt, made.line_break, made.last,
                 cjk_single_frag_ ? 0.0 : static_cast<double>(nbsp));
  double x = config_.left_indent_pt + made.indent_pt + offset;
  line.x0_pt = x;
  line.glyphs.reserve(draw_b - draw_a);
  for (size_t k = draw_a; k < draw_b; ++k) {
    const CjkUnit& u = units[k];
    if (u.line_break) continue;
    if (u.inserted) line.inserted_spaces.push_back(u.index);
    place_char(line, u.c, u.index, x, u.marker ? config_.newline.inline_color : config_.font_color);
    if (u.c == U' ' || u.c == 0xA0) x += word_space;
  }
  finish_box(line, x);
}

bool LineBreaker::break_cjk_units(const std::vector<CjkUnit>& units, bool base, CjkRun& run,
                                  std::vector<LineLayout>& lines, std::vector<CjkLine>& info,
                                  size_t size) {
  size_t& line_index = run.line_index;
  double& max_w = run.max_w;
  size_t& i = run.i;
  size_t& line_start = run.line_start;
  double& width_used = run.width_used;
  if (!run.started) {
    max_w = max_width(0);
    run.started = true;
  }
  while (true) {
    if (base) build_cjk_units(i + 2);  // the unit and the one after it (emit_cjk_line looks at it)
    if (i >= units.size()) break;
    if (lines.size() >= size) return false;
    CjkUnit u = units[i];
    ++i;
    double w = u.width_pt;
    width_used += w;
    const bool line_break = u.line_break;
    if ((width_used > max_w + kFuzz && width_used > 0) || line_break) {
      double extra = max_w - width_used;
      if (!line_break) {
        if (u.c < 0x3000) {
          const size_t limit_check = (line_start + i) >> 1;
          for (size_t j = i - 1; j > limit_check; --j) {
            const CjkUnit& uj = units[j];
            if (!uj.line_break && (is_space_separator(uj.c) || uj.c >= 0x3000)) {
              const size_t k = j + 1;
              if (k < i) {
                const size_t j2 = k + 1;
                for (size_t m = j2; m < i; ++m) extra += units[m].width_pt;
                w = units[k].width_pt;
                u = units[k];
                i = j2;
                break;
              }
            }
          }
        }
        if (!cannot_start_line(u.c) && i > line_start + 1) {
          --i;
          extra += w;
        }
      }
      emit_cjk_line(units, base, line_start, i, extra, line_break, false, line_index, lines, info);
      ++line_index;
      max_w = max_width(line_index);
      line_start = i;
      width_used = 0;
    }
  }
  if (lines.size() >= size) return false;
  // Zero-width characters after the last line are not drawn (as in ReportLab); the caller's
  // character ranges still cover them.
  if (width_used > 0)
    emit_cjk_line(units, base, line_start, units.size(), max_w - width_used, false, true,
                  line_index, lines, info);
  width_used = 0;
  return true;
}

size_t LineBreaker::continue_paragraph(size_t first, std::vector<LineLayout>& lines) {
  fill(lines, first + (cjk_ ? continuation_window_lines_ + 1 : 1));
  if (first == 0 || first >= lines.size()) return first;
  if (config_.wrap != WrapMode::reportlab) return first;
  if (!cjk_) {
    // ReportLab continues a split paragraph from the frag word where the next line began; after
    // a line ended by <br/> that is the break itself, which makes an empty first line. (It takes
    // the slot of the line just placed, which the caller no longer needs.)
    if (lines[first - 1].ends_with_newline) {
      LineLayout blank;
      blank.char_start = lines[first].char_start;
      blank.y0_pt = lines[first].y0_pt;
      blank.y1_pt = lines[first].y1_pt;
      lines[first - 1] = std::move(blank);
      return first - 1;
    }
    return first;
  }
  // CJK: the continuation is a new paragraph made of the remaining lines and broken again
  // without the first-line indent. ReportLab rebuilds it from the lines: for a paragraph of
  // several fragments (_split_blParaHard) each line but the last is followed by a space (a <br/>
  // becomes a space-wide break); a one-fragment paragraph (_split_blParaSimple) joins its lines
  // as dumbSplit stripped them, so spaces at former line ends disappear.
  //
  // ReportLab rebreaks the whole rest at every page, which is quadratic in a long paragraph;
  // here only a window of a few pages is rebuilt (its last line, cut short by the window, is
  // rebuilt again at the next page break before it is shown). Paragraphs continued over more
  // pages than the window holds may differ from ReportLab beyond it.
  const size_t count = lines.size();
  size_t window_end = std::min(count, first + continuation_window_lines_);
  while (window_end < count && !cjk_lines_[window_end].base)
    ++window_end;  // cjk_units_ is replaced
  // The line after the window, when there is one, must exist: a window's last line gets a space
  // unless it is the paragraph's last.
  fill(lines, window_end + 1);
  const size_t count_made = lines.size();
  std::vector<CjkUnit> next;
  std::vector<uint32_t> removed;  // characters the rejoined text drops
  bool changed = false;  // else breaking again gives the same lines (same widths, no indent)
  for (size_t k = first; k < window_end; ++k) {
    const CjkLine& line = cjk_lines_[k];
    const std::vector<CjkUnit>& units = line.base ? cjk_base_units_ : cjk_units_;
    size_t a = line.unit_start, b = line.unit_end;
    if (line.stripped) {
      while (a < b && is_python_space(units[a].c)) removed.push_back(units[a++].index);
      size_t trailing = b;
      while (trailing > a && is_python_space(units[trailing - 1].c)) --trailing;
      for (size_t m = trailing; m < b; ++m) removed.push_back(units[m].index);
      b = trailing;
    }
    const size_t begin = next.size();
    next.insert(next.end(), units.begin() + static_cast<std::ptrdiff_t>(a),
                units.begin() + static_cast<std::ptrdiff_t>(b));
    if (cjk_single_frag_ || k + 1 == count_made || next.size() == begin) continue;
    CjkUnit& last = next.back();
    if (last.line_break) {
      last.width_pt = space_width_pt_;
      changed = true;
    } else if (last.c != U' ') {
      changed = true;
      const CjkLine& following = cjk_lines_[k + 1];
      const std::vector<CjkUnit>& following_units = following.base ? cjk_base_units_ : cjk_units_;
      const uint32_t index = following.unit_start < following_units.size()
                                 ? following_units[following.unit_start].index
                                 : last.index;
      next.push_back(CjkUnit{U' ', index, space_width_pt_, false, false, true});
    }
  }
  if (!changed && removed.empty()) return first;
  // Characters dropped by an earlier continuation stay dropped.
  for (size_t k = first; k < window_end; ++k)
    removed.insert(removed.end(), lines[k].hidden_chars.begin(), lines[k].hidden_chars.end());
  std::sort(removed.begin(), removed.end());
  cjk_units_ = std::move(next);
  std::vector<LineLayout> fresh;
  std::vector<CjkLine> fresh_info;
  continuation_ = true;
  CjkRun run;
  break_cjk_units(cjk_units_, false, run, fresh, fresh_info, static_cast<size_t>(-1));
  continuation_ = false;
  // Each dropped character goes to the line whose range will hold it (the last line starting
  // at or before it).
  size_t line = 0;
  for (uint32_t index : removed) {
    while (line + 1 < fresh.size() && fresh[line + 1].char_start <= index) ++line;
    if (line < fresh.size()) fresh[line].hidden_chars.push_back(index);
  }
  // The fresh lines replace lines[first, window_end), written so that they end at window_end
  // (the slots before `first` are spent), which leaves the rest of the vector in place.
  const size_t replaced = window_end - first;
  if (fresh.size() > window_end) {  // rare: more lines than slots; shift the rest once
    const size_t extra = fresh.size() - replaced;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(window_end), extra, LineLayout{});
    cjk_lines_.insert(cjk_lines_.begin() + static_cast<std::ptrdiff_t>(window_end), extra,
                      CjkLine{});
    const size_t new_first = first;
    for (size_t k = 0; k < fresh.size(); ++k) {
      lines[new_first + k] = std::move(fresh[k]);
      cjk_lines_[new_first + k] = fresh_info[k];
    }
    return new_first;
  }
  const size_t new_first = window_end - fresh.size();
  for (size_t k = 0; k < fresh.size(); ++k) {
    lines[new_first + k] = std::move(fresh[k]);
    cjk_lines_[new_first + k] = fresh_info[k];
  }
  return new_first;
}

// UAX #14 line breaking (ICU), greedy, with HarfBuzz shaping for glyph placement.
void LineBreaker::break_unicode(std::u32string_view text, size_t start, size_t end,
                                std::vector<LineLayout>& lines) {
  size_t line_index = 0;
  size_t source_start = start;
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> iterator(
      icu::BreakIterator::createLineInstance(icu::Locale::getRoot(), status));
  if (U_FAILURE(status)) throw Error(ErrorCode::internal, "ICU line break iterator unavailable");
  auto emit_range = [&](size_t a, size_t b) {
    // Trailing spaces hang in the margin and draw nothing.
    size_t draw_b = b;
    while (draw_b > a && (is_break_space(text[draw_b - 1]) || text[draw_b - 1] == U'\n')) --draw_b;
    LineLayout line;
    line.char_start = a;
    double x = config_.left_indent_pt + first_line_indent(line_index);
    const std::vector<ShapedGlyph> shaped = fonts_.shape(text.substr(0, draw_b).substr(a));
    double width = 0;
    for (const ShapedGlyph& g : shaped) width += g.x_advance_pt;
    const double extra = max_width(line_index) - width;
    if (config_.alignment == Alignment::center)
      x += 0.5 * extra;
    else if (config_.alignment == Alignment::right)
      x += extra;
    line.x0_pt = x;
    for (const ShapedGlyph& g : shaped) {
      const uint32_t index = static_cast<uint32_t>(a + g.cluster);
      const char32_t c = text[index];
      if (!draws_nothing(c)) {
        if (line.glyphs.empty()) line.x0_pt = x;
        line.x1_pt = x + g.x_advance_pt;
        line.glyphs.push_back(PlacedGlyph{.x_pt = static_cast<float>(x + g.x_offset_pt),
                                          .y_pt = static_cast<float>(-g.y_offset_pt),
                                          .char_index = index,
                                          .glyph_id = static_cast<uint16_t>(g.glyph_id),
                                          .font_index = static_cast<uint8_t>(g.font_index),
                                          .color = config_.font_color});
        const CharGlyph cg = fonts_.lookup(c);
        if (cg.missing)
          ++missing_;
        else if (cg.font_index != 0)
          ++fallback_;
      }
      x += g.x_advance_pt;
    }
    finish_box(line, x);
    lines.push_back(std::move(line));
    ++line_index;
  };
  while (source_start < end || (source_start == start && start == end)) {
    size_t source_end = source_start;
    while (source_end < end && text[source_end] != U'\n') ++source_end;
    const size_t with_newline = source_end < end ? source_end + 1 : source_end;
    if (source_end == source_start) {
      if (with_newline > source_start) emit_range(source_start, with_newline);
    } else {
      std::u32string_view source = text.substr(source_start, source_end - source_start);
      icu::UnicodeString ustring = icu::UnicodeString::fromUTF32(
          reinterpret_cast<const UChar32*>(source.data()), static_cast<int32_t>(source.size()));
      iterator->setText(ustring);
      // Break opportunities in code points of `source` (ICU counts UTF-16 units).
      std::vector<size_t> breaks;
      int32_t previous_units = 0;
      size_t code_points = 0;
      for (int32_t p = iterator->next(); p != icu::BreakIterator::DONE; p = iterator->next()) {
        code_points += static_cast<size_t>(ustring.countChar32(previous_units, p - previous_units));
        previous_units = p;
        breaks.push_back(code_points);
      }
      // Greedy: take whole segments (between opportunities) while their visible width fits;
      // trailing spaces hang. A segment wider than a line is cut between characters. Each
      // character is measured a bounded number of times, so a line without opportunities
      // (10 MB of letters) stays linear.
      size_t line_start = 0;
      size_t b = 0;
      while (line_start < source.size()) {
        const double max_w = max_width(line_index) + kFuzz;
        size_t last_fit = line_start;
        double run = 0;
        size_t pos = line_start;
        bool cut = false;
        while (b < breaks.size() && breaks[b] <= line_start) ++b;
        for (size_t k = b; k < breaks.size(); ++k) {
          const size_t seg_end = breaks[k];
          double seg = 0, visible = 0;
          bool fits = true;
          for (size_t q = pos; q < seg_end; ++q) {
            seg += char_width_pt(source[q]);
            if (!is_break_space(source[q])) visible = seg;
            if (run + visible > max_w) {
              fits = false;
              break;
            }
          }
          if (!fits) {
            cut = last_fit == line_start;
            break;
          }
          run += seg;
          pos = seg_end;
          last_fit = seg_end;
        }
        if (cut) {
          // Not even one segment fits: as many characters as fit, at least one.
          double acc = 0;
          size_t q = line_start;
          while (q < source.size() && (q == line_start || acc + char_width_pt(source[q]) <= max_w))
            acc += char_width_pt(source[q++]);
          last_fit = q;
        }
        const bool final_line = last_fit >= source.size();
        emit_range(source_start + line_start, final_line ? with_newline : source_start + last_fit);
        line_start = last_fit;
      }
    }
    source_start = with_newline;
    if (with_newline == end) break;
  }
}

// Whether ReportLab's parser makes one fragment of the paragraph: a newline markup, an escaped
// &, < or >, or an &nbsp; (runs of spaces) each start new fragments, which selects other code
// paths (breakLines kind 1, cjkFragSplit instead of dumbSplit).
bool LineBreaker::is_single_fragment(std::u32string_view text, size_t start, size_t end) {
  for (size_t i = start; i < end; ++i) {
    const char32_t c = text[i];
    if (c == U'\n' || c == U'&' || c == U'<' || c == U'>') return false;
    if (c == U' ' && i + 1 < end && text[i + 1] == U' ') return false;
  }
  return true;
}

void LineBreaker::begin_paragraph(std::u32string_view text, size_t start, size_t end,
                                  bool ends_with_page_break) {
  if (ends_with_page_break && end > start && text[end - 1] == U'\f')
    --end;  // the form feed draws nothing
  text_ = text;
  start_ = start;
  end_ = end;
  done_ = false;
  tokens_.clear();
  if (config_.wrap == WrapMode::unicode) return;  // broken whole by the first fill()
  if (cjk_) {
    begin_cjk(text, start, end);
    return;
  }
  tokenized_to_ = start;
  single_frag_ = is_single_fragment(text, start, end);
  latin_ = LatinRun{};
  latin_.cur.max_width_pt = max_width(0);
}

void LineBreaker::fill(std::vector<LineLayout>& lines, size_t size) {
  if (done_ || lines.size() >= size) return;
  if (config_.wrap == WrapMode::unicode) {
    break_unicode(text_, start_, end_, lines);
    done_ = true;
  } else if (cjk_) {
    done_ = break_cjk_units(cjk_base_units_, true, cjk_run_, lines, cjk_lines_, size);
  } else {
    done_ = break_latin(lines, size);
  }
}

void LineBreaker::drop_lines(size_t count) {
  if (cjk_)
    cjk_lines_.erase(cjk_lines_.begin(), cjk_lines_.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                  count, cjk_lines_.size())));
}

}  // namespace glyph::detail
