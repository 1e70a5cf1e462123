// The reference layout (ReportLab Paragraph + SimpleDocTemplate, as the Glyph release uses them),
// written again from ReportLab's rules; see docs/layout.md for what each step reproduces.
#include "layout/layout.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "layout/line_breaker.h"

namespace glyph {
namespace detail {

bool is_cjk_ideograph(char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; }

// ReportLab's paragraph whitespace (platypus/paragraph.py _wsc), which separates words; U+00A0
// is not in it.
bool is_break_space(char32_t c) {
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E:
    case 0x1F: case 0x20: case 0x85: case 0x1680: case 0x200B: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

}  // namespace detail

namespace {

constexpr double kFramePaddingPt = 6;  // ReportLab Frame's padding on every side
constexpr double kFuzz = 1e-6;         // ReportLab's rl_config._FUZZ
constexpr size_t kLinesPerParagraph = 30;

struct Placement {
  std::vector<PageLayout>* pages;
  const RenderConfig* config;
  double top_pt, bottom_pt, frame_x_pt;
  double y_pt;
  bool at_top = true;
  double previous_space_after_pt = 0;

  // max-text-tokens-per-page: the tokens of the page's text so far. Between exact counts of the
  // whole page text it is the sum of the lines' own counts; a recount is made when that sum
  // (plus one per line, for tokens a line boundary could add) comes near the cap, so a page is
  // counted exactly before it is allowed to reach the cap.
  const TextTokenCounter* count_tokens = nullptr;
  std::u32string_view text;
  size_t page_text_start = 0, page_text_end = 0;  // empty while the page has no text
  size_t page_tokens = 0, lines_since_count = 0;

  PageLayout& page() { return pages->back(); }
  void new_page() {
    PageLayout page;
    page.number = static_cast<int>(pages->size()) + 1;
    pages->push_back(std::move(page));
    y_pt = top_pt;
    at_top = true;
    previous_space_after_pt = 0;
    page_text_start = page_text_end = 0;
    page_tokens = lines_since_count = 0;
  }

  // How many of lines[first, first + count) fit on this page under the token cap.
  size_t lines_within_token_cap(const std::vector<LineLayout>& lines, size_t first, size_t count) {
    const auto cap = static_cast<size_t>(config->max_text_tokens_per_page);
    for (size_t k = 0; k < count; ++k) {
      const LineLayout& line = lines[first + k];
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
};

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

// Places the lines of one paragraph (relative coordinates, baseline 0) on pages as
// Frame._add / Paragraph.split do: whole if it fits, else split (no orphans: a split leaving one
// line moves the paragraph on), space-before skipped at a frame top, space-after overlapping.
void place_paragraph(std::vector<LineLayout>& lines, Placement& at, detail::LineBreaker& breaker) {
  const RenderConfig& config = *at.config;
  const double leading = config.line_height_pt;
  size_t first = 0;
  while (first < lines.size()) {
    double space_before = at.at_top ? 0 : std::max(config.space_before_pt - at.previous_space_after_pt, 0.0);
    const double avail = at.bottom_pt - at.y_pt - space_before;
    if (avail <= 0) {
      at.new_page();
      continue;
    }
    size_t count = lines.size() - first;
    const double height = static_cast<double>(count) * leading;
    if (at.y_pt + space_before + height > at.bottom_pt + kFuzz) {
      size_t fit = static_cast<size_t>(std::max(0.0, std::floor(avail / leading)));
      if (fit <= 1) {
        if (!at.at_top) {
          at.new_page();
          continue;
        }
        fit = 1;  // a page that holds one line: place one per page rather than loop forever
      }
      count = std::min(count, fit);
    }
    if (at.count_tokens) {
      size_t token_fit = at.lines_within_token_cap(lines, first, count);
      if (token_fit == 0) {
        if (!at.page().lines.empty()) {
          at.new_page();
          continue;
        }
        token_fit = 1;  // one line over the cap alone on a page: lines are not split for it
        at.page_text_start = lines[first].char_start;
        at.page_text_end = std::max(lines[first].char_start, lines[first].char_end);
        at.page_tokens = (*at.count_tokens)(
            text_of_page(at.text, at.page_text_start, at.page_text_end));
      }
      count = token_fit;
    }
    const double top = at.y_pt + space_before;
    const double part_height = static_cast<double>(count) * leading;
    PageLayout& page = at.page();
    const double padding = config.border_padding_pt;
    Rect box{at.frame_x_pt + config.left_indent_pt - padding, top - padding,
             at.frame_x_pt + (config.page_width_pt - 2 * config.margin_x_pt - 2 * kFramePaddingPt) -
                 config.right_indent_pt + padding,
             top + part_height + padding};
    page.para_backgrounds.push_back(box);
    if (config.border_width_pt > 0) page.para_borders.push_back(box);
    for (size_t i = 0; i < count; ++i) {
      LineLayout& line = lines[first + i];
      shift_line(line, at.frame_x_pt, top + config.font_size_pt + static_cast<double>(i) * leading);
      page.lines.push_back(std::move(line));
    }
    at.y_pt = top + part_height + config.space_after_pt;
    at.previous_space_after_pt = config.space_after_pt;
    at.at_top = false;
    first += count;
    if (first < lines.size()) {
      at.new_page();
      const size_t paragraph_end = lines.back().char_end;
      first = breaker.continue_paragraph(first, lines);
      if (at.count_tokens)  // lines broken again need their ranges for the token cap
        for (size_t i = first; i < lines.size(); ++i)
          lines[i].char_end = i + 1 < lines.size() ? lines[i + 1].char_start : paragraph_end;
    }
  }
}

void add_page_markers(Layout& layout, const RenderConfig& config, const FontSet& fonts) {
  if (config.page_markers == PageMarkers::none) return;
  const Rgb gray{128, 128, 128};
  for (PageLayout& page : layout.pages) {
    std::string label = "page " + std::to_string(page.number) + " of " + std::to_string(layout.pages.size()) +
                        " | chars " + std::to_string(page.char_start) + "-" + std::to_string(page.char_end);
    double x = config.margin_x_pt + kFramePaddingPt;
    const double size = fonts.size_pt();
    const double y = config.page_markers == PageMarkers::header
                         ? std::max(size, config.margin_y_pt + kFramePaddingPt - 2)
                         : config.page_height_pt - std::max(2.0, config.margin_y_pt + kFramePaddingPt - size - 2);
    for (char c : label) {
      CharGlyph g = fonts.lookup(static_cast<char32_t>(c));
      if (c != ' ')
        page.markers.push_back(PlacedGlyph{.x_pt = static_cast<float>(x), .y_pt = static_cast<float>(y),
                                           .char_index = kNoChar, .glyph_id = static_cast<uint16_t>(g.glyph_id),
                                           .font_index = static_cast<uint8_t>(g.font_index), .color = gray});
      x += g.width_milli_em * size * 0.001;
    }
  }
}

}  // namespace

Layout lay_out(std::u32string_view text, const RenderConfig& config, const FontSet& fonts,
               const TextTokenCounter& count_tokens) {
  Layout layout;
  layout.page_width_pt = config.page_width_pt;
  layout.page_height_pt = config.page_height_pt;
  layout.char_count = text.size();
  if (text.size() >= kNoChar) throw Error(ErrorCode::limit_exceeded, "text longer than 4 billion characters");

  const double frame_width = config.page_width_pt - 2 * config.margin_x_pt - 2 * kFramePaddingPt;
  detail::LineBreaker breaker(config, fonts, frame_width);
  layout.cjk_wrap = config.wrap == WrapMode::reportlab &&
                    std::any_of(text.begin(), text.end(), detail::is_cjk_ideograph);
  breaker.set_cjk(layout.cjk_wrap);
  breaker.set_lines_per_page(static_cast<size_t>(std::max(
      1.0, std::floor((config.page_height_pt - 2 * config.margin_y_pt - 2 * kFramePaddingPt) / config.line_height_pt))));

  Placement at;
  at.pages = &layout.pages;
  at.config = &config;
  at.top_pt = config.margin_y_pt + kFramePaddingPt;
  at.bottom_pt = config.page_height_pt - config.margin_y_pt - kFramePaddingPt;
  at.frame_x_pt = config.margin_x_pt + kFramePaddingPt;
  at.new_page();
  if (config.max_text_tokens_per_page > 0) {
    if (!count_tokens) {
      throw Error(ErrorCode::invalid_config,
                  "max-text-tokens-per-page is " + std::to_string(config.max_text_tokens_per_page) +
                      " but the layout was given no tokenizer to count with");
    }
    at.count_tokens = &count_tokens;
    at.text = text;
  }

  // Paragraphs: groups of 30 source lines; a form feed also ends the group and the page.
  size_t start = 0;
  std::vector<LineLayout> lines;
  while (start < text.size() || (start == 0 && text.empty())) {
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
    size_t content_end = end;
    if (!page_break && end < text.size()) ++end;
    lines.clear();
    breaker.break_paragraph(text, start, content_end, page_break, lines);
    if (at.count_tokens) {
      // The token cap needs each line's text now; the final ranges are set at the end.
      for (size_t i = 0; i < lines.size(); ++i) {
        lines[i].char_end = i + 1 < lines.size() ? lines[i + 1].char_start : end;
      }
    }
    place_paragraph(lines, at, breaker);
    if (page_break && end < text.size()) at.new_page();
    start = end;
    if (text.empty()) break;
  }
  layout.missing_glyph_chars = breaker.missing_chars();
  layout.fallback_chars = breaker.fallback_chars();

  // Character ranges: each line runs to the start of the next one, so that ranges are contiguous.
  std::vector<LineLayout*> all;
  for (PageLayout& page : layout.pages)
    for (LineLayout& line : page.lines) all.push_back(&line);
  for (size_t i = 0; i < all.size(); ++i) {
    all[i]->char_start = i == 0 ? 0 : all[i - 1]->char_end;
    all[i]->char_end = i + 1 < all.size() ? std::max(all[i]->char_start, all[i + 1]->char_start) : text.size();
  }
  size_t page_start = 0;
  for (PageLayout& page : layout.pages) {
    page.char_start = page_start;
    page.char_end = page.lines.empty() ? page_start : page.lines.back().char_end;
    page_start = page.char_end;
  }
  if (!layout.pages.empty()) layout.pages.back().char_end = text.size();
  // A last page left empty by a trailing page break is dropped.
  while (layout.pages.size() > 1 && layout.pages.back().lines.empty()) {
    const size_t end = layout.pages.back().char_end;
    layout.pages.pop_back();
    layout.pages.back().char_end = end;
    if (!layout.pages.back().lines.empty()) layout.pages.back().lines.back().char_end = end;
  }
  add_page_markers(layout, config, fonts);
  return layout;
}

std::u32string drawn_text(const LineLayout& line, std::u32string_view text, const RenderConfig& config) {
  std::u32string out;
  const size_t end = std::min(line.char_end, text.size());
  for (size_t i = std::min(line.char_start, end); i < end; ++i) {
    const char32_t c = text[i];
    for (uint32_t before : line.inserted_spaces)
      if (before == i) out += U' ';
    if (!line.hidden_chars.empty() &&
        std::binary_search(line.hidden_chars.begin(), line.hidden_chars.end(), static_cast<uint32_t>(i)))
      continue;
    if (c == U'\n' && !config.newline.line_break &&
        std::any_of(line.glyphs.begin(), line.glyphs.end(), [&](const PlacedGlyph& g) { return g.char_index == i; })) {
      out += config.newline.inline_text;
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == U' ' || out.back() == U'\n' || out.back() == U'\f')) out.pop_back();
  return out;
}

}  // namespace glyph
