// The reflow rules (docs/reflow.md). The source is cut into lines; each line is classified
// (blank, prose, list item start, table row, rule, code, heading) from the block the source marks
// or from its own text; the line breaks between consecutive non-blank lines are then joined or
// kept; runs of kept short lines are packed. Nothing is ever dropped but line breaks, the
// spaces around them, the hyphen of a word split across a line end, the page-separating form
// feed of a PDF and the blank lines after the first of a run.
#include "reflow/reflow.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace glyph {
namespace {

// The markers are Glyph's newline-markup text (a backslash and an n between spaces), which OCR
// reads back almost without error; symbols such as U+23CE or U+00B6 cost 1-2 character errors
// each in Tesseract's reading.
constexpr std::u32string_view kPackSeparator = U" \\n ";
constexpr std::u32string_view kParagraphSeparator = U" \\n\\n ";

bool is_space(char32_t c) {
  return c == U' ' || c == U'\t' || c == 0xA0 || c == 0x3000;
}
bool is_digit(char32_t c) {
  return c >= U'0' && c <= U'9';
}
bool is_ascii_letter(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}
bool is_letter(char32_t c) {
  return is_ascii_letter(c) || (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7);
}
bool is_wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD);
}
// Display columns: wide (CJK) characters count two.
std::size_t columns(std::u32string_view s) {
  std::size_t n = 0;
  for (char32_t c : s) n += is_wide(c) ? 2 : 1;
  return n;
}

// leaders: a table of contents' line ("Title . . . . 12"): never joined, packed as lines.
enum class LineClass { blank, prose, list_start, table, rule, code, heading, leaders };

struct Line {
  std::size_t start = 0, end = 0;  // content, terminator excluded
  std::size_t content_end = 0;     // end without trailing spaces
  std::size_t indent = 0;          // leading spaces
  char32_t terminator = 0;         // '\n', '\f' or 0 at the end of the text
  bool soft_page_break = false;    // terminator is the "\f" between two PDF pages
  std::size_t page = 0;            // 0-based source page of the line's start
  int block = -1;                  // index of the source block holding the line's start
  LineClass cls = LineClass::blank;
  std::size_t item_text_column = 0;  // list_start: where the item's text begins
  std::size_t width = 0;             // columns of [start, content_end)
};

// Length of a list marker with the space after it at the start of `s` (no indentation), or 0.
std::size_t list_marker_length(std::u32string_view s) {
  if (s.size() < 2) return 0;
  static constexpr std::u32string_view bullets = U"-*+\u2022\u25E6\u25AA\u2023\u00B7\u2013\u25CF";
  if (bullets.find(s[0]) != std::u32string_view::npos && is_space(s[1])) return 2;
  std::size_t i = 0;
  const bool paren = s[0] == U'(';
  if (paren) ++i;
  const std::size_t label = i;
  while (i < s.size() && i - label < 4 && is_digit(s[i])) ++i;
  if (i == label) {
    // One letter: "a)", "B.", "(c)".
    if (i < s.size() && is_ascii_letter(s[i])) ++i;
  } else {
    // Section numbers "2.1 ", "3.2.4 ".
    while (i + 1 < s.size() && s[i] == U'.' && is_digit(s[i + 1])) {
      ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
    }
    if (!paren && i < s.size() && is_space(s[i]) &&
        s.substr(label, i - label).find(U'.') != std::u32string_view::npos)
      return i + 1;
  }
  if (i == label || i >= s.size()) return 0;
  if (paren) {
    if (s[i] != U')') return 0;
  } else if (s[i] != U'.' && s[i] != U')') {
    return 0;
  }
  ++i;
  if (i < s.size() && is_space(s[i])) return i + 1;
  return 0;
}

bool is_rule(std::u32string_view s) {
  if (s.size() < 3) return false;
  std::size_t marks = 0;
  for (char32_t c : s) {
    if (c == U' ') continue;
    if (std::u32string_view(U"-=*_~#+.").find(c) == std::u32string_view::npos) return false;
    ++marks;
  }
  return marks >= 3;
}

// A rule of one character repeated more than 5 times ("=======", "*****").
bool is_long_uniform_rule(std::u32string_view s) {
  return s.size() > 5 && std::all_of(s.begin(), s.end(), [&](char32_t c) { return c == s[0]; });
}

bool is_table_row(std::u32string_view s) {
  std::size_t pipes = 0, gaps = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == U'|') ++pipes;
    if (c >= 0x2500 && c <= 0x257F) return true;  // box drawing
    if (c == U' ' && i > 0 && s[i - 1] != U' ') {
      std::size_t j = i;
      while (j < s.size() && s[j] == U' ') ++j;
      if (j - i >= 3 && j < s.size()) ++gaps;
    }
  }
  if (pipes >= 2 || gaps >= 2) return true;
  return s.size() >= 3 && s[0] == U'+' && s.find(U"-+") != std::u32string_view::npos;
}

// The end of the dot leaders starting at s[i] (". . . ." with 4 or more dots one space apart, or
// "......" with 6 or more dots in a row), else i. Ellipses ("... ...") are not leaders.
std::size_t leader_end(std::u32string_view s, std::size_t i) {
  if (i >= s.size() || s[i] != U'.') return i;
  std::size_t j = i;
  while (j < s.size() && s[j] == U'.') ++j;
  if (j - i >= 6) return j;
  if (j - i != 1) return i;
  std::size_t dots = 1;
  while (j + 1 < s.size() && s[j] == U' ' && s[j + 1] == U'.' &&
         (j + 2 >= s.size() || s[j + 2] != U'.')) {
    ++dots;
    j += 2;
  }
  return dots >= 4 ? j : i;
}

bool has_dot_leaders(std::u32string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (leader_end(s, i) > i) return true;
  return false;
}

bool is_heading_marker(std::u32string_view s) {
  std::size_t i = 0;
  while (i < s.size() && i < 7 && s[i] == U'#') ++i;
  return i >= 1 && i <= 6 && i < s.size() && s[i] == U' ';
}

bool looks_like_code(std::u32string_view s) {
  if (s.empty()) return false;
  const char32_t last = s.back();
  if (last == U'{' || last == U'}') return true;
  // A statement: ";" after something only code has (a list item of prose may end with ";").
  if (last == U';' && s.find_first_of(U"()=[]") != std::u32string_view::npos) return true;
  if (s[0] == U'{' || s[0] == U'}') return true;
  for (std::u32string_view prefix : {U"#include", U"#define", U"//", U"/*", U"$ ", U">>> ", U"#!"})
    if (s.substr(0, prefix.size()) == prefix) return true;
  std::size_t symbols = 0;
  for (char32_t c : s)
    if (std::u32string_view(U"{}[]()<>=;/\\|&*$_`").find(c) != std::u32string_view::npos) ++symbols;
  return s.size() >= 6 && symbols * 100 >= s.size() * 18;
}

bool is_fence(std::u32string_view s) {
  return s.substr(0, 3) == U"```" || s.substr(0, 3) == U"~~~";
}

ReflowKind kind_of_block(BlockKind kind) {
  switch (kind) {
    case BlockKind::paragraph: return ReflowKind::prose;
    case BlockKind::heading: return ReflowKind::heading;
    case BlockKind::list_item: return ReflowKind::list;
    case BlockKind::code: return ReflowKind::code;
    case BlockKind::table_row: return ReflowKind::table;
    case BlockKind::quote: return ReflowKind::quote;
    case BlockKind::rule: return ReflowKind::rule;
  }
  return ReflowKind::prose;
}

bool ends_sentence(std::u32string_view s) {
  if (s.empty()) return false;
  const char32_t c = s.back();
  return c == U'.' || c == U':' || c == U'!' || c == U'?' || c == 0x3002;
}

std::u32string_view first_word(std::u32string_view s) {
  std::size_t i = 0;
  while (i < s.size() && !is_space(s[i])) ++i;
  return s.substr(0, i);
}

// The last word of `s` (after its last space).
std::u32string_view last_word(std::u32string_view s) {
  std::size_t i = s.size();
  while (i > 0 && !is_space(s[i - 1])) --i;
  return s.substr(i);
}

class Emitter {
 public:
  explicit Emitter(std::u32string_view source) : source_(source) {}
  void copy(std::size_t start, std::size_t end) {
    if (end <= start) return;
    map.append_copy(out.size(), start, end - start);
    out.append(source_.substr(start, end - start));
  }
  // Copies [start, end) with every run of dot leaders (4 or more dots, each followed by at most
  // one space, as tables of contents draw them) written as " ... ". Returns the runs collapsed.
  std::size_t copy_collapsing_leaders(std::size_t start, std::size_t end) {
    std::size_t collapsed = 0, from = start;
    const std::u32string_view line = source_.substr(0, end);
    for (std::size_t i = start; i < end;) {
      const std::size_t j = leader_end(line, i);
      if (j == i) {
        ++i;
        continue;
      }
      std::size_t run_start = i;
      while (run_start > from && source_[run_start - 1] == U' ') --run_start;
      std::size_t run_end = j;
      while (run_end < end && source_[run_end] == U' ') ++run_end;
      copy(from, run_start);
      insert(run_end < end ? U" ... " : U" ...", run_start);
      ++collapsed;
      from = i = run_end;
    }
    copy(from, end);
    return collapsed;
  }
  void insert(std::u32string_view text, std::size_t source_at) {
    if (text.empty()) return;
    map.append_inserted(out.size(), source_at, text.size());
    out.append(text);
  }
  std::u32string out;
  SourceMap map;

 private:
  std::u32string_view source_;
};

struct Logical {
  std::size_t first = 0, last = 0;  // line indices, inclusive
  ReflowKind kind = ReflowKind::prose;
  std::vector<bool> dehyphenate;  // per joint (line k → k+1): join without space or hyphen
  std::vector<bool> keep_hyphen;  // per joint: "well-" + "known", no space
  std::size_t width = 0;          // columns once joined
};

class Reflower {
 public:
  Reflower(const ReflowInput& input, ReflowMode mode)
      : in_(input), text_(input.text), mode_(mode), emit_(input.text) {}

  ReflowResult run() {
    cut_lines();
    classify();
    estimate_wrap_width();
    emit_all();
    ReflowResult result;
    emit_.map.page_starts = in_.page_starts;
    emit_.map.source_length = text_.size();
    report_.mode = mode_;
    result.text = std::move(emit_.out);
    result.map = std::move(emit_.map);
    result.report = std::move(report_);
    return result;
  }

 private:
  void cut_lines() {
    std::size_t start = 0;
    std::size_t block = 0;
    while (start <= text_.size()) {
      Line line;
      line.start = start;
      std::size_t end = start;
      while (end < text_.size() && text_[end] != U'\n' && text_[end] != U'\f') ++end;
      line.end = end;
      line.terminator = end < text_.size() ? text_[end] : 0;
      if (line.terminator == U'\f') {
        line.soft_page_break =
            std::binary_search(in_.page_starts.begin(), in_.page_starts.end(), end + 1);
      }
      line.content_end = end;
      while (line.content_end > start && is_space(text_[line.content_end - 1])) --line.content_end;
      while (start + line.indent < line.content_end && is_space(text_[start + line.indent]))
        ++line.indent;
      line.width = columns(text_.substr(start, line.content_end - start));
      line.page = static_cast<std::size_t>(
          std::upper_bound(in_.page_starts.begin(), in_.page_starts.end(), start) -
          in_.page_starts.begin());
      if (line.page > 0) --line.page;
      while (block < in_.blocks.size() && in_.blocks[block].end <= start) ++block;
      if (block < in_.blocks.size() && in_.blocks[block].start <= start &&
          start < in_.blocks[block].end)
        line.block = static_cast<int>(block);
      lines_.push_back(line);
      if (end >= text_.size()) break;
      start = end + 1;
    }
  }

  std::u32string_view content(const Line& l) const {
    return text_.substr(l.start + l.indent, l.content_end - l.start - l.indent);
  }

  void classify() {
    // The indentation most non-blank lines have; a group indented 4 or more past it is code.
    std::map<std::size_t, std::size_t> indents;
    for (const Line& l : lines_)
      if (l.content_end > l.start + l.indent) ++indents[l.indent];
    std::size_t best = 0;
    for (const auto& [indent, count] : indents)
      if (count > best) {
        best = count;
        base_indent_ = indent;
      }
    bool in_fence = false;
    for (Line& l : lines_) {
      const std::u32string_view s = content(l);
      if (l.block >= 0) {
        const BlockKind kind = in_.blocks[static_cast<std::size_t>(l.block)].kind;
        if (s.empty() && kind != BlockKind::code) {
          l.cls = LineClass::blank;
        } else if (kind == BlockKind::code) {
          l.cls = LineClass::code;
        } else if (kind == BlockKind::table_row) {
          l.cls = LineClass::table;
        } else if (kind == BlockKind::rule) {
          l.cls = LineClass::rule;
        } else if (kind == BlockKind::heading) {
          l.cls = LineClass::heading;
        } else if (kind == BlockKind::list_item &&
                   in_.blocks[static_cast<std::size_t>(l.block)].start >= l.start) {
          l.cls = LineClass::list_start;
          l.item_text_column = l.indent + list_marker_length(s);
        } else {
          l.cls = LineClass::prose;
        }
        continue;
      }
      if (is_fence(s)) {
        in_fence = !in_fence;
        l.cls = LineClass::code;
        continue;
      }
      if (in_fence) {
        l.cls = LineClass::code;
        continue;
      }
      if (s.empty()) {
        l.cls = LineClass::blank;
      } else if (is_rule(s)) {
        l.cls = LineClass::rule;
      } else if (is_heading_marker(s)) {
        l.cls = LineClass::heading;
      } else if (const std::size_t marker = list_marker_length(s); marker > 0) {
        l.cls = LineClass::list_start;
        l.item_text_column = l.indent + marker;
      } else if (has_dot_leaders(s)) {
        l.cls = LineClass::leaders;
      } else if (is_table_row(s)) {
        l.cls = LineClass::table;
      } else if (looks_like_code(s)) {
        l.cls = LineClass::code;
      } else {
        l.cls = LineClass::prose;
      }
    }
    // Indented groups (consecutive non-blank lines, none starting a list item) are code.
    for (std::size_t i = 0; i < lines_.size();) {
      if (lines_[i].cls == LineClass::blank) {
        ++i;
        continue;
      }
      std::size_t j = i, min_indent = SIZE_MAX;
      bool list = false, marked = false;
      while (j < lines_.size() && lines_[j].cls != LineClass::blank) {
        min_indent = std::min(min_indent, lines_[j].indent);
        list = list || lines_[j].cls == LineClass::list_start;
        marked = marked || lines_[j].block >= 0;
        ++j;
      }
      if (!list && !marked && min_indent >= base_indent_ + 4) {
        for (std::size_t k = i; k < j; ++k)
          if (lines_[k].cls == LineClass::prose) lines_[k].cls = LineClass::code;
      }
      i = j;
    }
  }

  // The wrap width: widths of the lines that a non-blank line follows (the only ones a wrapper
  // can have broken), their 90th percentile.
  void estimate_wrap_width() {
    std::vector<std::size_t> widths;
    for (std::size_t i = 0; i + 1 < lines_.size(); ++i)
      if (lines_[i].cls == LineClass::prose && lines_[i + 1].cls != LineClass::blank)
        widths.push_back(lines_[i].width);
    if (widths.empty()) {
      wrap_width_ = 80;
      return;
    }
    std::sort(widths.begin(), widths.end());
    // Nobody wraps prose narrower than 40 columns: short lines below that are meant.
    wrap_width_ = std::max<std::size_t>(40, widths[(widths.size() * 9) / 10]);
  }

  bool same_source_block(const Line& a, const Line& b) const {
    return a.block >= 0 && a.block == b.block;
  }

  // Whether the break between non-blank lines a and b is joined; `item_column` is the text
  // column of the list item the logical line of `a` started, or 0.
  bool joins(const Line& a, const Line& b, std::size_t item_column) const {
    if (a.terminator == U'\f' && !a.soft_page_break) return false;
    if (a.block >= 0 || b.block >= 0) {
      if (!same_source_block(a, b)) return false;
      const BlockKind kind = in_.blocks[static_cast<std::size_t>(a.block)].kind;
      return kind == BlockKind::paragraph || kind == BlockKind::quote ||
             kind == BlockKind::heading || kind == BlockKind::list_item;
    }
    if (a.cls != LineClass::prose && a.cls != LineClass::list_start) return false;
    if (b.cls != LineClass::prose) return false;
    // Deeper indentation starts something else (a quote, code), except a list item's text.
    const std::size_t allowed = std::max(a.indent, item_column);
    if (b.indent > allowed + 1) return false;
    if (item_column > 0 && b.indent + 1 < item_column) return false;  // the list has ended
    if (mode_ == ReflowMode::on) return true;
    const double w = static_cast<double>(wrap_width_);
    const std::size_t next_word = columns(first_word(content(b)));
    if (static_cast<double>(a.width) < 0.5 * w) return false;
    if (ends_sentence(content(a)) && static_cast<double>(a.width) < 0.75 * w) return false;
    return static_cast<double>(a.width + 1 + next_word) > 0.8 * w;
  }

  // Dehyphenation of the joint a → b (both joined): 1 = drop the hyphen, 2 = keep it and join
  // without a space, 0 = not a split word.
  int split_word(const Line& a, const Line& b) const {
    if (a.soft_page_break) return 0;
    const std::u32string_view sa = content(a), sb = content(b);
    if (sa.size() < 3 || sb.empty() || sa.back() != U'-') return 0;
    const std::u32string_view fragment = last_word(sa.substr(0, sa.size() - 1));
    if (fragment.size() < 2 || !is_letter(fragment.back()) ||
        !is_letter(fragment[fragment.size() - 2]))
      return 0;
    const std::u32string_view rest = first_word(sb);
    if (rest.empty() || !is_letter(rest[0])) return 0;
    std::size_t rest_letters = 0;
    while (rest_letters < rest.size() && is_letter(rest[rest_letters])) ++rest_letters;
    return dehyphenate_keeps_hyphen(fragment, rest.substr(0, rest_letters), text_) ? 2 : 1;
  }

  ReflowKind logical_kind(const Logical& g) const {
    const Line& first = lines_[g.first];
    if (first.block >= 0)
      return kind_of_block(in_.blocks[static_cast<std::size_t>(first.block)].kind);
    switch (first.cls) {
      case LineClass::list_start: return ReflowKind::list;
      case LineClass::table: return ReflowKind::table;
      case LineClass::rule: return ReflowKind::rule;
      case LineClass::code: return ReflowKind::code;
      case LineClass::heading: return ReflowKind::heading;
      default: break;
    }
    return g.last > g.first ? ReflowKind::prose : ReflowKind::lines;
  }

  // Blocks that may share rendered lines with their neighbours (headings, tables and rules keep
  // lines of their own).
  static bool packable(ReflowKind kind) {
    return kind != ReflowKind::heading && kind != ReflowKind::table && kind != ReflowKind::rule;
  }

  // The kind most of a packed run's blocks have (the first on a tie).
  static ReflowKind run_kind(const std::vector<Logical>& run) {
    std::size_t counts[static_cast<int>(ReflowKind::lines) + 1] = {};
    for (const Logical& g : run) ++counts[static_cast<int>(g.kind)];
    ReflowKind best = run.front().kind;
    for (int k = 0; k <= static_cast<int>(ReflowKind::lines); ++k)
      if (counts[k] > counts[static_cast<int>(best)]) best = static_cast<ReflowKind>(k);
    return best;
  }

  // The logical lines of the group of non-blank lines [first, last].
  std::vector<Logical> logical_lines(std::size_t first, std::size_t last) const {
    std::vector<Logical> out;
    Logical current;
    current.first = current.last = first;
    std::size_t item_column =
        lines_[first].cls == LineClass::list_start ? lines_[first].item_text_column : 0;
    for (std::size_t i = first; i < last; ++i) {
      if (joins(lines_[i], lines_[i + 1], item_column)) {
        const int split = split_word(lines_[i], lines_[i + 1]);
        current.dehyphenate.push_back(split == 1);
        current.keep_hyphen.push_back(split == 2);
        current.last = i + 1;
        continue;
      }
      out.push_back(current);
      current = Logical();
      current.first = current.last = i + 1;
      item_column = lines_[i + 1].cls == LineClass::list_start ? lines_[i + 1].item_text_column : 0;
    }
    out.push_back(current);
    // A line standing alone between blank lines, short, without closing punctuation, starting
    // with a capital or a digit, and followed by a longer prose line: a heading.
    std::size_t next = last + 1;
    while (next < lines_.size() && lines_[next].cls == LineClass::blank) ++next;
    if (first == last && lines_[first].cls == LineClass::prose && lines_[first].block < 0 &&
        next < lines_.size() && lines_[next].cls == LineClass::prose &&
        lines_[next].width >= std::max<std::size_t>(40, lines_[first].width * 3 / 2)) {
      const std::u32string_view s = content(lines_[first]);
      const char32_t c = s.back();
      if (lines_[first].width <= 60 && (is_digit(s[0]) || (s[0] >= U'A' && s[0] <= U'Z')) &&
          std::u32string_view(U".,;:!?)>").find(c) == std::u32string_view::npos) {
        out.back().kind = ReflowKind::heading;
        out.back().width = lines_[first].width;
        return out;
      }
    }
    for (Logical& g : out) {
      g.kind = logical_kind(g);
      g.width = lines_[g.first].width;
      for (std::size_t k = g.first + 1; k <= g.last; ++k)
        g.width += 1 + columns(content(lines_[k]));
    }
    return out;
  }

  bool worth_packing(const std::vector<Logical>& run) const {
    if (run.size() < 2) return false;
    if (mode_ == ReflowMode::on) return true;
    const double r = static_cast<double>(line_chars());
    double unpacked = 0, total = 0;
    for (const Logical& g : run) {
      unpacked += std::max(1.0, std::ceil(static_cast<double>(g.width) / r));
      total += static_cast<double>(g.width) + kPackSeparator.size();
    }
    const double packed = std::max(1.0, std::ceil(total / r));
    return packed <= 0.8 * unpacked;
  }

  std::size_t line_chars() const { return in_.rendered_line_chars ? in_.rendered_line_chars : 110; }

  // Page markers of the pages that begin at or before `line`, not yet written.
  void emit_page_markers(const Line& line) {
    while (next_marker_page_ < in_.page_starts.size() &&
           in_.page_starts[next_marker_page_] <= line.start) {
      const std::size_t at = in_.page_starts[next_marker_page_];
      if (at > 0 && text_[at - 1] == U'\f') {
        const std::string marker = "[p." + std::to_string(next_marker_page_ + 1) + "] ";
        emit_.insert(std::u32string(marker.begin(), marker.end()), at);
        ++report_.page_markers;
      }
      ++next_marker_page_;
    }
  }

  // Writes a logical line's text (its first line's indentation kept). Returns dehyphenations.
  std::size_t emit_logical(const Logical& g) {
    std::size_t dehyphenated = 0;
    for (std::size_t k = g.first; k <= g.last; ++k) {
      const Line& l = lines_[k];
      emit_page_markers(l);
      std::size_t start = k == g.first ? l.start : l.start + l.indent;
      std::size_t end = l.content_end;
      if (k < g.last) {
        const std::size_t joint = k - g.first;
        if (g.dehyphenate[joint]) {
          emit_.copy(start, end - 1);  // the hyphen dropped
          ++dehyphenated;
          ++report_.lines_joined;
          continue;
        }
        report_.leaders_collapsed += emit_.copy_collapsing_leaders(start, end);
        ++report_.lines_joined;
        if (g.keep_hyphen[joint]) continue;
        const Line& next = lines_[k + 1];
        const bool wide_joint =
            l.content_end > l.start && next.indent < next.content_end - next.start &&
            is_wide(text_[l.content_end - 1]) && is_wide(text_[next.start + next.indent]);
        if (!wide_joint) emit_.insert(U" ", l.end);
        continue;
      }
      if (l.cls == LineClass::rule && is_long_uniform_rule(content(l))) {
        // "*********************": three of its character say the same and OCR counts them.
        emit_.copy(start, l.start + l.indent + 3);
        ++report_.rules_shortened;
        continue;
      }
      report_.leaders_collapsed += emit_.copy_collapsing_leaders(start, end);
    }
    return dehyphenated;
  }

  void add_block(ReflowKind kind, ReflowAction action, const Line& first, const Line& last,
                 std::size_t output_start, std::size_t lines, std::size_t dehyphenated) {
    ReflowBlock b;
    b.kind = kind;
    b.action = action;
    b.source_start = first.start;
    b.source_end = last.end;
    b.output_start = output_start;
    b.output_end = emit_.out.size();
    b.lines = lines;
    b.dehyphenated = dehyphenated;
    report_.words_dehyphenated += dehyphenated;
    report_.blocks.push_back(b);
    last_kind_ = kind;
    const std::u32string_view s = content(last);
    last_bare_marker_ = first.start == last.start && !s.empty() &&
                        (list_marker_length(std::u32string(s) + U" ") == s.size() + 1);
  }

  // Writes a group of non-blank lines (no terminator after its last line).
  void emit_group(const std::vector<Logical>& logical) {
    for (std::size_t i = 0; i < logical.size();) {
      // A run of packable logical lines of one kind.
      std::size_t j = i + 1;
      if (packable(logical[i].kind)) {
        while (j < logical.size() && packable(logical[j].kind)) ++j;
      }
      const std::vector<Logical> run(logical.begin() + static_cast<std::ptrdiff_t>(i),
                                     logical.begin() + static_cast<std::ptrdiff_t>(j));
      if (j - i >= 2 && worth_packing(run)) {
        const std::size_t output_start = emit_.out.size();
        std::size_t dehyphenated = 0;
        for (std::size_t k = 0; k < run.size(); ++k) {
          if (k > 0) {
            const Line& before = lines_[run[k - 1].last];
            emit_.insert(kPackSeparator, before.end);
            ++report_.lines_packed;
          }
          dehyphenated += emit_logical(run[k]);
        }
        add_block(run_kind(run), ReflowAction::packed, lines_[run.front().first],
                  lines_[run.back().last], output_start, run.back().last - run.front().first + 1,
                  dehyphenated);
      } else {
        for (std::size_t k = i; k < j; ++k) {
          const Logical& g = logical[k];
          const std::size_t output_start = emit_.out.size();
          const std::size_t dehyphenated = emit_logical(g);
          add_block(g.kind, g.last > g.first ? ReflowAction::joined : ReflowAction::kept,
                    lines_[g.first], lines_[g.last], output_start, g.last - g.first + 1,
                    dehyphenated);
          if (k + 1 < j) emit_break(lines_[g.last]);
        }
      }
      if (j < logical.size()) emit_break(lines_[logical[j - 1].last]);
      i = j;
    }
  }

  // A kept line break after `line`: its newline (or a hard form feed) as in the source.
  void emit_break(const Line& line) {
    if (line.terminator == U'\n' || (line.terminator == U'\f' && !line.soft_page_break))
      emit_.copy(line.end, line.end + 1);
    else
      emit_.insert(U"\n", line.end);
  }

  void emit_all() {
    std::size_t i = 0;
    bool wrote_group = false;
    while (i < lines_.size()) {
      // Blank lines (and the break before them) between groups.
      std::size_t j = i;
      while (j < lines_.size() && lines_[j].cls == LineClass::blank) ++j;
      if (j >= lines_.size()) {
        // Trailing blank lines: the text's last terminator, if it had one.
        if (wrote_group) {
          const Line& prev = lines_[i - 1];
          if (prev.terminator != 0) emit_break(prev);
        }
        break;
      }
      // The group of non-blank lines from j; a hard form feed ends it.
      std::size_t k = j;
      while (k + 1 < lines_.size() && lines_[k + 1].cls != LineClass::blank &&
             !(lines_[k].terminator == U'\f' && !lines_[k].soft_page_break))
        ++k;
      const std::vector<Logical> logical = logical_lines(j, k);
      if (wrote_group) {
        const Line& prev = lines_[i - 1];
        bool hard_page = prev.terminator == U'\f' && !prev.soft_page_break;
        for (std::size_t k = i; k < j; ++k)
          hard_page = hard_page || (lines_[k].terminator == U'\f' && !lines_[k].soft_page_break);
        if (hard_page) {
          // The first hard form feed of the stretch stands for all of it.
          std::size_t at = prev.end;
          if (!(prev.terminator == U'\f' && !prev.soft_page_break))
            for (std::size_t k = i; k < j; ++k)
              if (lines_[k].terminator == U'\f' && !lines_[k].soft_page_break) {
                at = lines_[k].end;
                break;
              }
          emit_.copy(at, at + 1);
        } else if (last_bare_marker_ && packable(logical.front().kind)) {
          // A list marker alone on its line ("•" and the item's text after a blank line).
          emit_.insert(U" ", prev.end);
          ++report_.lines_joined;
          report_.blank_lines_dropped += j - i;
        } else if (packable(last_kind_) && packable(logical.front().kind)) {
          // A paragraph break between blocks that flow: the paragraph marker, inline.
          emit_.insert(kParagraphSeparator, prev.end);
          ++report_.paragraphs_flowed;
          report_.blank_lines_dropped += j - i;
        } else {
          emit_break(prev);
          report_.blank_lines_dropped += j - i;
        }
      } else if (j > i) {
        report_.blank_lines_dropped += j - i;
      }
      emit_group(logical);
      wrote_group = true;
      i = k + 1;
    }
    // Markers of trailing pages without text.
    if (!lines_.empty() && next_marker_page_ < in_.page_starts.size()) {
      Line end_line;
      end_line.start = text_.size();
      emit_page_markers(end_line);
    }
  }

  const ReflowInput& in_;
  std::u32string_view text_;
  ReflowMode mode_;
  Emitter emit_;
  ReflowReport report_;
  std::vector<Line> lines_;
  std::size_t base_indent_ = 0;
  std::size_t wrap_width_ = 80;
  std::size_t next_marker_page_ = 1;
  ReflowKind last_kind_ = ReflowKind::heading;
  bool last_bare_marker_ = false;  // the last block was a list marker alone ("•", "1.")
};

}  // namespace

std::string_view reflow_kind_name(ReflowKind kind) {
  switch (kind) {
    case ReflowKind::prose: return "prose";
    case ReflowKind::heading: return "heading";
    case ReflowKind::list: return "list";
    case ReflowKind::code: return "code";
    case ReflowKind::table: return "table";
    case ReflowKind::quote: return "quote";
    case ReflowKind::rule: return "rule";
    case ReflowKind::lines: return "lines";
  }
  return "prose";
}

std::string_view reflow_action_name(ReflowAction action) {
  switch (action) {
    case ReflowAction::kept: return "kept";
    case ReflowAction::joined: return "joined";
    case ReflowAction::packed: return "packed";
  }
  return "kept";
}

std::size_t ReflowReport::count(ReflowKind kind, ReflowAction action) const {
  std::size_t n = 0;
  for (const ReflowBlock& b : blocks) n += b.kind == kind && b.action == action;
  return n;
}

std::string ReflowReport::summary() const {
  std::string out = "reflow " + std::string(reflow_mode_name(mode));
  if (mode == ReflowMode::off) return out + ": the text as given";
  out += ":";
  for (ReflowAction action : {ReflowAction::joined, ReflowAction::packed, ReflowAction::kept}) {
    std::size_t total = 0;
    std::string kinds;
    for (int k = 0; k <= static_cast<int>(ReflowKind::lines); ++k) {
      const std::size_t n = count(static_cast<ReflowKind>(k), action);
      if (n == 0) continue;
      total += n;
      if (!kinds.empty()) kinds += ", ";
      kinds += std::string(reflow_kind_name(static_cast<ReflowKind>(k))) + " " + std::to_string(n);
    }
    out += " " + std::to_string(total) + " blocks " + std::string(reflow_action_name(action));
    if (total) out += " (" + kinds + ")";
    out += ";";
  }
  out += " " + std::to_string(lines_joined) + " line breaks joined, " +
         std::to_string(lines_packed) + " packed, " + std::to_string(paragraphs_flowed) +
         " paragraph breaks flowed, " + std::to_string(words_dehyphenated) +
         " words dehyphenated, " + std::to_string(page_markers) + " page markers, " +
         std::to_string(blank_lines_dropped) + " blank lines dropped, " +
         std::to_string(leaders_collapsed) + " dot leaders collapsed, " +
         std::to_string(rules_shortened) + " rules shortened";
  return out;
}

SourceMap SourceMap::identity(std::size_t length) {
  SourceMap map;
  map.append_copy(0, 0, length);
  map.source_length = length;
  return map;
}

void SourceMap::append_copy(std::size_t output_start, std::size_t source_start,
                            std::size_t length) {
  if (length == 0) return;
  if (!segments_.empty()) {
    Segment& last = segments_.back();
    if (!last.inserted && last.output_start + last.length == output_start &&
        last.source_start + last.length == source_start) {
      last.length += length;
      return;
    }
  }
  segments_.push_back({output_start, source_start, length, false});
}

void SourceMap::append_inserted(std::size_t output_start, std::size_t source_at,
                                std::size_t length) {
  if (length == 0) return;
  segments_.push_back({output_start, source_at, length, true});
}

std::size_t SourceMap::source_offset(std::size_t output_offset) const {
  if (segments_.empty()) return std::min(output_offset, source_length);
  auto it = std::upper_bound(segments_.begin(), segments_.end(), output_offset,
                             [](std::size_t at, const Segment& s) { return at < s.output_start; });
  if (it == segments_.begin()) return 0;
  --it;
  if (output_offset >= it->output_start + it->length) {
    if (it->inserted) return it->source_start;
    return std::min(source_length, it->source_start + it->length);
  }
  return it->inserted ? it->source_start : it->source_start + (output_offset - it->output_start);
}

int SourceMap::source_page(std::size_t output_offset) const {
  if (page_starts.empty()) return 0;
  const std::size_t source = source_offset(output_offset);
  const auto it = std::upper_bound(page_starts.begin(), page_starts.end(), source);
  return static_cast<int>(std::max<std::ptrdiff_t>(1, it - page_starts.begin()));
}

int SourceMap::source_page(std::size_t output_start, std::size_t output_end) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), output_start,
                             [](std::size_t at, const Segment& s) { return at < s.output_start; });
  if (it != segments_.begin()) --it;
  for (; it != segments_.end() && it->output_start < output_end; ++it) {
    if (it->inserted || it->output_start + it->length <= output_start) continue;
    return source_page(std::max(output_start, it->output_start));
  }
  return source_page(output_start);
}

ReflowResult reflow_text(const ReflowInput& input, ReflowMode mode) {
  if (mode == ReflowMode::off) {
    ReflowResult result;
    result.text = std::u32string(input.text);
    result.map = SourceMap::identity(input.text.size());
    result.map.page_starts = input.page_starts;
    result.report.mode = mode;
    return result;
  }
  return Reflower(input, mode).run();
}

std::size_t rendered_line_chars(const RenderConfig& config) {
  const double width = config.page_width_pt - 2 * config.margin_x_pt - 12 - config.left_indent_pt -
                       config.right_indent_pt;
  // About 0.55 em per Latin character in the sans fonts of the presets.
  const double per_char = config.font_size_pt * 0.55 * config.horizontal_scale;
  if (!(per_char > 0) || !(width > 0)) return 110;
  return std::max<std::size_t>(10, static_cast<std::size_t>(width / per_char));
}

namespace {

PreparedDocument prepare_document_text(const Document& document, const RenderConfig& config) {
  PreparedDocument out;
  if (config.reflow == ReflowMode::off && document.page_starts.empty()) {
    PreparedText whole = prepare_text(document.text, config);
    out.text = std::move(whole.text);
    whole.text.clear();
    out.prepare = std::move(whole);
    out.map = SourceMap::identity(out.text.size());
    return out;
  }
  // Boundaries where the source marks something (pages, blocks), in bytes: each stretch between
  // two is prepared on its own so that its offsets are known in code points.
  std::vector<std::size_t> cuts;
  for (std::size_t at : document.page_starts)
    if (at <= document.text.size()) cuts.push_back(at);
  if (config.reflow != ReflowMode::off) {
    for (const TextBlock& b : document.blocks) {
      if (b.begin <= document.text.size()) cuts.push_back(b.begin);
      if (b.end <= document.text.size()) cuts.push_back(b.end);
    }
  }
  cuts.push_back(0);
  cuts.push_back(document.text.size());
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  std::u32string source;
  std::map<std::size_t, std::size_t> code_point_at;  // byte cut → code point offset
  PreparedText& counters = out.prepare;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    code_point_at[cuts[i]] = source.size();
    PreparedText part = prepare_text(
        std::string_view(document.text).substr(cuts[i], cuts[i + 1] - cuts[i]), config);
    if (part.invalid_utf8 && counters.first_invalid_offset == std::string::npos)
      counters.first_invalid_offset = cuts[i] + part.first_invalid_offset;
    counters.invalid_utf8 += part.invalid_utf8;
    counters.line_breaks_normalized += part.line_breaks_normalized;
    counters.tabs_expanded += part.tabs_expanded;
    counters.page_breaks += part.page_breaks;
    counters.controls_dropped += part.controls_dropped;
    counters.invisible_removed += part.invisible_removed;
    counters.made_visible += part.made_visible;
    source += part.text;
  }
  code_point_at[document.text.size()] = source.size();

  ReflowInput input;
  for (std::size_t at : document.page_starts)
    if (at <= document.text.size()) input.page_starts.push_back(code_point_at[at]);
  for (const TextBlock& b : document.blocks) {
    if (b.begin >= b.end || b.end > document.text.size()) continue;
    input.blocks.push_back({code_point_at[b.begin], code_point_at[b.end], b.kind});
  }
  input.rendered_line_chars = rendered_line_chars(config);

  if (config.reflow == ReflowMode::off) {
    // Today's text, byte for byte: the whole text prepared at once.
    PreparedText whole = prepare_text(document.text, config);
    out.text = std::move(whole.text);
    whole.text.clear();
    out.prepare = std::move(whole);
    out.map = SourceMap::identity(out.text.size());
    if (out.text == source) out.map.page_starts = input.page_starts;
    out.reflow.mode = ReflowMode::off;
    return out;
  }
  input.text = source;
  ReflowResult result = reflow_text(input, config.reflow);
  out.text = std::move(result.text);
  out.map = std::move(result.map);
  out.reflow = std::move(result.report);
  out.source_text = std::move(source);
  return out;
}

}  // namespace

namespace {

// "line-numbers": each line of the text to render begins with its 1-based number, right-aligned
// to the widest and followed by two spaces, all non-breaking (U+00A0) so that the layout keeps
// them; the numbers are inserted text in the map (they map to the start of their line).
void number_lines(PreparedDocument& out) {
  const std::u32string& old_text = out.text;
  std::size_t lines = 1;
  for (char32_t c : old_text) lines += c == U'\n';
  if (!old_text.empty() && old_text.back() == U'\n') --lines;
  const std::size_t digits = std::to_string(std::max<std::size_t>(lines, 1)).size();

  const SourceMap& old_map = out.map;
  const auto& segments = old_map.segments();
  std::u32string text;
  SourceMap map;
  // Copies [from, to) of the old text with the old map's segments.
  auto copy = [&](std::size_t from, std::size_t to) {
    auto it = std::upper_bound(
        segments.begin(), segments.end(), from,
        [](std::size_t at, const SourceMap::Segment& s) { return at < s.output_start; });
    if (it != segments.begin()) --it;
    for (; it != segments.end() && it->output_start < to; ++it) {
      const std::size_t begin = std::max(from, it->output_start);
      const std::size_t end = std::min(to, it->output_start + it->length);
      if (begin >= end) continue;
      if (it->inserted)
        map.append_inserted(text.size(), it->source_start, end - begin);
      else
        map.append_copy(text.size(), it->source_start + (begin - it->output_start), end - begin);
      text.append(old_text, begin, end - begin);
    }
  };
  std::size_t number = 0;
  for (std::size_t start = 0; start < old_text.size();) {
    std::size_t end = old_text.find(U'\n', start);
    end = end == std::u32string::npos ? old_text.size() : end + 1;
    const std::string digits_text = std::to_string(++number);
    std::u32string label(digits - digits_text.size(), U'\u00A0');
    for (char c : digits_text) label += static_cast<char32_t>(c);
    label += U"\u00A0\u00A0";
    map.append_inserted(text.size(), old_map.source_offset(start), label.size());
    text += label;
    copy(start, end);
    start = end;
  }
  map.page_starts = old_map.page_starts;
  map.source_length = old_map.source_length;
  if (out.source_text.empty()) out.source_text = old_text;
  out.text = std::move(text);
  out.map = std::move(map);
}

}  // namespace

PreparedDocument prepare_document(const Document& document, const RenderConfig& config) {
  PreparedDocument out = prepare_document_text(document, config);
  if (config.line_numbers) number_lines(out);
  return out;
}

}  // namespace glyph
