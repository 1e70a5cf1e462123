// The reference layout (ReportLab Paragraph + SimpleDocTemplate, as the Glyph release uses them),
// written again from ReportLab's rules; see docs/layout.md for what each step reproduces.
#include "layout/layout.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "core/error.h"
#include "layout/line_breaker.h"

namespace glyph {
namespace detail {

bool is_cjk_ideograph(char32_t c) {
  return c >= 0x4E00 && c <= 0x9FFF;
}

// ReportLab's paragraph whitespace (platypus/paragraph.py _wsc), which separates words; U+00A0
// is not in it.
bool is_break_space(char32_t c) {
  switch (c) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x20:
    case 0x85:
    case 0x1680:
    case 0x200B:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000: return true;
    default: return c >= 0x2000 && c <= 0x200A;
  }
}

}  // namespace detail

namespace {

constexpr double kFramePaddingPt = 6;  // ReportLab Frame's padding on every side
constexpr double kFuzz = 1e-6;         // ReportLab's rl_config._FUZZ
constexpr size_t kLinesPerParagraph = 30;

std::u32string_view text_of_page(std::u32string_view text, size_t start, size_t end) {
  return text.substr(start, end - start);
}

void shift_line(LineLayout& line, double dx, double dy) {
  line.x0_pt += dx;
  line.x1_pt += dx;
  line.y0_pt += dy;
  line.y1_pt += dy;
  line.baseline_pt += dy;
  for (PlacedGlyph& g : line.glyphs) {
    g.x_pt = static_cast<float>(g.x_pt + dx);
    g.y_pt = static_cast<float>(g.y_pt + dy);
  }
}

void add_page_markers(PageLayout& page, size_t page_count, const RenderConfig& config,
                      const FontSet& fonts) {
  if (config.page_markers == PageMarkers::none) return;
  const Rgb gray{128, 128, 128};
  std::string label = "page " + std::to_string(page.number) + " of " + std::to_string(page_count) +
                      " | chars " + std::to_string(page.char_start) + "-" +
                      std::to_string(page.char_end);
  double x = config.margin_x_pt + kFramePaddingPt;
  const double size = fonts.size_pt();
  const double y =
      config.page_markers == PageMarkers::header
          ? std::max(size, config.margin_y_pt + kFramePaddingPt - 2)
          : config.page_height_pt - std::max(2.0, config.margin_y_pt + kFramePaddingPt - size - 2);
  for (char c : label) {
    CharGlyph g = fonts.lookup(static_cast<char32_t>(c));
    if (c != ' ')
      page.markers.push_back(PlacedGlyph{.x_pt = static_cast<float>(x),
                                         .y_pt = static_cast<float>(y),
                                         .char_index = kNoChar,
                                         .glyph_id = static_cast<uint16_t>(g.glyph_id),
                                         .font_index = static_cast<uint8_t>(g.font_index),
                                         .color = gray});
    x += g.width_milli_em * size * 0.001;
  }
}

// Placed lines of a paragraph are erased from its line vector once this many have gathered.
constexpr size_t kPlacedLinesKept = 1024;

}  // namespace

namespace detail {

// The layout in progress: the paragraph being placed, the pages not yet handed over, and where the
// next line goes. Paragraphs are placed as Frame._add / Paragraph.split do: whole if they fit,
// else split (no orphans: a split leaving one line moves the paragraph on), space-before
// skipped at a frame top, space-after overlapping.
struct PageLayouterState {
  PageLayouterState(std::u32string_view text_in, const RenderConfig& config_in,
                    const FontSet& fonts_in)
      : text(text_in),
        config(config_in),
        fonts(fonts_in),
        breaker(config_in, fonts_in,
                config_in.page_width_pt - 2 * config_in.margin_x_pt - 2 * kFramePaddingPt) {}

  std::u32string_view text;
  const RenderConfig& config;
  const FontSet& fonts;
  LineBreaker breaker;
  bool cjk_wrap = false;
  size_t page_count = 0;  // known in advance only for page markers
  double top_pt = 0, bottom_pt = 0, frame_x_pt = 0;

  // Pages not handed over yet; back() is the one being filled.
  std::deque<PageLayout> open;
  int pages_made = 0;
  double y_pt = 0;
  bool at_top = true;
  double previous_space_after_pt = 0;

  // max-text-tokens-per-page: the tokens of the page's text so far. Between exact counts of the
  // whole page text it is the sum of the lines' own counts; a recount is made when that sum
  // (plus one per line, for tokens a line boundary could add) comes near the cap, so a page is
  // counted exactly before it is allowed to reach the cap.
  const TextTokenCounter* count_tokens = nullptr;
  size_t page_text_start = 0, page_text_end = 0;  // empty while the page has no text
  size_t page_tokens = 0, lines_since_count = 0;

  // The paragraph being placed: lines[first, ...) are made and not yet placed.
  std::vector<LineLayout> lines;
  size_t first = 0;
  bool in_paragraph = false;
  bool started = false;
  size_t next_start = 0;  // the next paragraph's first character
  size_t paragraph_end = 0;
  bool paragraph_page_break = false;
  bool text_done = false;

  // Character ranges: each line runs to the start of the next one, so that ranges are contiguous.
  // The latest placed line waits for the next one (or the end of the text) for its end.
  PageLayout* last_line_page = nullptr;  // the page holding it (deque elements do not move)
  int last_page_with_lines = 0;
  size_t page_start = 0;  // first character of the next page handed over
  size_t pages_done = 0;

  PageLayout& page() { return open.back(); }

  void new_page() {
    PageLayout page;
    page.number = ++pages_made;
    open.push_back(std::move(page));
    y_pt = top_pt;
    at_top = true;
    previous_space_after_pt = 0;
    page_text_start = page_text_end = 0;
    page_tokens = lines_since_count = 0;
  }

  void place_line(LineLayout& line, double dx, double dy) {
    shift_line(line, dx, dy);
    if (last_line_page) {
      LineLayout& previous = last_line_page->lines.back();
      previous.char_end = std::max(previous.char_start, line.char_start);
      line.char_start = previous.char_end;
    } else {
      line.char_start = 0;
    }
    PageLayout& current = page();
    current.lines.push_back(std::move(line));
    last_line_page = &current;
    last_page_with_lines = current.number;
  }

  // How many of lines[first, first + count) fit on this page under the token cap.
  size_t lines_within_token_cap(size_t from_line, size_t count) {
    const auto cap = static_cast<size_t>(config.max_text_tokens_per_page);
    for (size_t k = 0; k < count; ++k) {
      const LineLayout& line = lines[from_line + k];
      if (line.char_end <= line.char_start) continue;  // no text (a continuation's blank line)
      const bool page_empty = page_text_end == page_text_start;
      const size_t from = page_empty ? line.char_start : page_text_end;
      size_t tokens = page_tokens + (*count_tokens)(text.substr(from, line.char_end - from));
      if (tokens + lines_since_count + 1 > cap) {
        const size_t start = page_empty ? line.char_start : page_text_start;
        tokens = (*count_tokens)(text.substr(start, line.char_end - start));
        if (tokens > cap) return k;
        lines_since_count = 0;
      } else {
        ++lines_since_count;
      }
      if (page_empty) page_text_start = line.char_start;
      page_text_end = line.char_end;
      page_tokens = tokens;
    }
    return count;
  }

  // Paragraphs: groups of 30 source lines; a form feed also ends the group and the page.
  bool start_paragraph() {
    const size_t start = next_start;
    if (!(start < text.size() || (!started && text.empty()))) return false;
    started = true;
    size_t end = start;
    size_t source_lines = 0;
    bool page_break = false;
    while (end < text.size()) {
      const char32_t c = text[end];
      if (c == U'\n' || c == U'\f') {
        ++source_lines;
        if (c == U'\f') {
          page_break = true;
          ++end;
          break;
        }
        if (source_lines == kLinesPerParagraph) break;  // this '\n' separates two paragraphs
      }
      ++end;
    }
    // [start, end): the paragraph's characters; text[end] (if '\n') is the separator between
    // paragraphs, which belongs to the paragraph's last line.
    const size_t content_end = end;
    if (!page_break && end < text.size()) ++end;
    lines.clear();
    first = 0;
    breaker.begin_paragraph(text, start, content_end, page_break);
    paragraph_end = end;
    paragraph_page_break = page_break;
    next_start = text.empty() ? text.size() + 1 : end;
    in_paragraph = true;
    return true;
  }

  void end_paragraph() {
    in_paragraph = false;
    lines.clear();
    first = 0;
    if (paragraph_page_break && paragraph_end < text.size()) new_page();
  }

  // Places the next part of the paragraph: the lines that go on the current page (or moves on
  // to the next page).
  void place_part() {
    if (first >= kPlacedLinesKept) {
      lines.erase(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(first));
      breaker.drop_lines(first);
      first = 0;
    }
    breaker.fill(lines, first + 1);
    if (first >= lines.size()) {
      end_paragraph();
      return;
    }
    const double leading = config.line_height_pt;
    const double space_before =
        at_top ? 0 : std::max(config.space_before_pt - previous_space_after_pt, 0.0);
    const double avail = bottom_pt - y_pt - space_before;
    if (avail <= 0) {
      new_page();
      return;
    }
    // Enough lines to tell whether the rest of the paragraph fits (more than a page holds), and
    // the one after the last that fits (it gives that line's end for the token cap).
    const double ahead = std::floor((avail + kFuzz) / leading) + 2;
    breaker.fill(lines, ahead < 1e7 ? first + static_cast<size_t>(ahead) : static_cast<size_t>(-1));
    size_t count = lines.size() - first;
    const double height = static_cast<double>(count) * leading;
    if (y_pt + space_before + height > bottom_pt + kFuzz) {
      size_t fit = static_cast<size_t>(std::max(0.0, std::floor(avail / leading)));
      if (fit <= 1) {
        if (!at_top) {
          new_page();
          return;
        }
        fit = 1;  // a page that holds one line: place one per page rather than loop forever
      }
      count = std::min(count, fit);
    }
    if (count_tokens) {
      // The token cap needs each line's text: it runs to the next line's start.
      for (size_t i = first; i < first + count; ++i)
        lines[i].char_end = i + 1 < lines.size() ? lines[i + 1].char_start : paragraph_end;
      size_t token_fit = lines_within_token_cap(first, count);
      if (token_fit == 0) {
        if (!page().lines.empty()) {
          new_page();
          return;
        }
        token_fit = 1;  // one line over the cap alone on a page: lines are not split for it
        page_text_start = lines[first].char_start;
        page_text_end = std::max(lines[first].char_start, lines[first].char_end);
        page_tokens = (*count_tokens)(text_of_page(text, page_text_start, page_text_end));
      }
      count = token_fit;
    }
    const double top = y_pt + space_before;
    const double part_height = static_cast<double>(count) * leading;
    const double padding = config.border_padding_pt;
    Rect box{frame_x_pt + config.left_indent_pt - padding, top - padding,
             frame_x_pt + (config.page_width_pt - 2 * config.margin_x_pt - 2 * kFramePaddingPt) -
                 config.right_indent_pt + padding,
             top + part_height + padding};
    page().para_backgrounds.push_back(box);
    if (config.border_width_pt > 0) page().para_borders.push_back(box);
    for (size_t i = 0; i < count; ++i) {
      breaker.draw_line(first + i, lines[first + i]);
      place_line(lines[first + i], frame_x_pt,
                 top + config.font_size_pt + static_cast<double>(i) * leading);
    }
    y_pt = top + part_height + config.space_after_pt;
    previous_space_after_pt = config.space_after_pt;
    at_top = false;
    first += count;
    breaker.fill(lines, first + 1);
    if (first < lines.size()) {
      new_page();
      first = breaker.continue_paragraph(first, lines);
    }
  }

  // Lays out until the oldest open page can be handed over; false when the text is finished.
  bool advance() {
    if (!in_paragraph && !start_paragraph()) return false;
    place_part();
    return true;
  }

  bool front_ready() const {
    return text_done ? !open.empty()
                     : open.size() > 1 && last_page_with_lines > open.front().number;
  }

  void finish() {
    text_done = true;
    if (last_line_page) last_line_page->lines.back().char_end = text.size();
    // A text of blanks only (spaces, newlines) makes no line; one empty line where the first line
    // would be holds its characters, so that every character still belongs to a line.
    if (!last_line_page && !text.empty() && !open.empty()) {
      LineLayout blank;
      blank.char_start = 0;
      blank.char_end = text.size();
      blank.x0_pt = blank.x1_pt = config.left_indent_pt;
      blank.y0_pt = -fonts.ascent_pt();
      blank.y1_pt = -fonts.descent_pt();
      shift_line(blank, frame_x_pt, top_pt + config.font_size_pt);
      open.front().lines.push_back(std::move(blank));
    }
    // A last page left empty by a trailing page break is dropped.
    while (open.size() > 1 && open.back().lines.empty()) open.pop_back();
  }

  void hand_over(PageLayout& out) {
    if (last_line_page == &open.front()) last_line_page = nullptr;  // only once the text is done
    out = std::move(open.front());
    open.pop_front();
    out.char_start = page_start;
    out.char_end = out.lines.empty() ? page_start : out.lines.back().char_end;
    out.last = text_done && open.empty();
    if (out.last) out.char_end = text.size();
    // Lines sit in slots of one leading from the frame top: the last line's slot ends a leading
    // below its top, the top being a font size above its baseline.
    const double leading = config.line_height_pt;
    const double used_bottom_pt =
        out.lines.empty() ? top_pt : out.lines.back().baseline_pt - config.font_size_pt + leading;
    out.cut_short = bottom_pt - used_bottom_pt + kFuzz >= leading;
    page_start = out.char_end;
    ++pages_done;
    add_page_markers(out, page_count, config, fonts);
  }
};

}  // namespace detail

PageLayouter::PageLayouter(std::u32string_view text, const RenderConfig& config,
                           const FontSet& fonts, const TextTokenCounter& count_tokens) {
  if (text.size() >= kNoChar)
    throw Error(ErrorCode::limit_exceeded, "text longer than 4 billion characters");
  if (config.max_text_tokens_per_page > 0 && !count_tokens) {
    throw Error(ErrorCode::invalid_config,
                "max-text-tokens-per-page is " + std::to_string(config.max_text_tokens_per_page) +
                    " but the layout was given no tokenizer to count with");
  }
  size_t page_count = 0;
  if (config.page_markers != PageMarkers::none) {
    RenderConfig plain = config;
    plain.page_markers = PageMarkers::none;  // markers do not move anything: count without them
    PageLayouter counter(text, plain, fonts, count_tokens);
    PageLayout page;
    while (counter.next_page(page)) ++page_count;
  }
  state_ = std::make_unique<detail::PageLayouterState>(text, config, fonts);
  detail::PageLayouterState& s = *state_;
  s.page_count = page_count;
  s.cjk_wrap = config.wrap == WrapMode::reportlab &&
               std::any_of(text.begin(), text.end(), detail::is_cjk_ideograph);
  s.breaker.set_cjk(s.cjk_wrap);
  s.breaker.set_lines_per_page(static_cast<size_t>(std::max(
      1.0, std::floor((config.page_height_pt - 2 * config.margin_y_pt - 2 * kFramePaddingPt) /
                      config.line_height_pt))));
  s.top_pt = config.margin_y_pt + kFramePaddingPt;
  s.bottom_pt = config.page_height_pt - config.margin_y_pt - kFramePaddingPt;
  s.frame_x_pt = config.margin_x_pt + kFramePaddingPt;
  if (config.max_text_tokens_per_page > 0) s.count_tokens = &count_tokens;
  s.new_page();
}

PageLayouter::~PageLayouter() = default;
PageLayouter::PageLayouter(PageLayouter&&) noexcept = default;
PageLayouter& PageLayouter::operator=(PageLayouter&&) noexcept = default;

bool PageLayouter::next_page(PageLayout& page) {
  detail::PageLayouterState& s = *state_;
  while (!s.front_ready()) {
    if (s.text_done) return false;
    if (!s.advance()) s.finish();
  }
  s.hand_over(page);
  return true;
}

bool PageLayouter::done() const {
  return state_->text_done && state_->open.empty();
}
size_t PageLayouter::pages_done() const {
  return state_->pages_done;
}
size_t PageLayouter::chars_done() const {
  return state_->page_start;
}
size_t PageLayouter::missing_glyph_chars() const {
  return state_->breaker.missing_chars();
}
size_t PageLayouter::fallback_chars() const {
  return state_->breaker.fallback_chars();
}
bool PageLayouter::cjk_wrap() const {
  return state_->cjk_wrap;
}
size_t PageLayouter::pages_held() const {
  return state_->open.size();
}
size_t PageLayouter::lines_held() const {
  return state_->lines.size() - state_->first;
}

Layout lay_out(std::u32string_view text, const RenderConfig& config, const FontSet& fonts,
               const TextTokenCounter& count_tokens) {
  Layout layout;
  layout.page_width_pt = config.page_width_pt;
  layout.page_height_pt = config.page_height_pt;
  layout.char_count = text.size();
  PageLayouter layouter(text, config, fonts, count_tokens);
  PageLayout page;
  while (layouter.next_page(page)) layout.pages.push_back(std::move(page));
  layout.missing_glyph_chars = layouter.missing_glyph_chars();
  layout.fallback_chars = layouter.fallback_chars();
  layout.cjk_wrap = layouter.cjk_wrap();
  return layout;
}

std::u32string drawn_text(const LineLayout& line, std::u32string_view text,
                          const RenderConfig& config) {
  std::u32string out;
  const size_t end = std::min(line.char_end, text.size());
  for (size_t i = std::min(line.char_start, end); i < end; ++i) {
    const char32_t c = text[i];
    for (uint32_t before : line.inserted_spaces)
      if (before == i) out += U' ';
    if (!line.hidden_chars.empty() &&
        std::binary_search(line.hidden_chars.begin(), line.hidden_chars.end(),
                           static_cast<uint32_t>(i)))
      continue;
    if (c == U'\n' && !config.newline.line_break &&
        std::any_of(line.glyphs.begin(), line.glyphs.end(),
                    [&](const PlacedGlyph& g) { return g.char_index == i; })) {
      out += config.newline.inline_text;
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == U' ' || out.back() == U'\n' || out.back() == U'\f'))
    out.pop_back();
  return out;
}

}  // namespace glyph
