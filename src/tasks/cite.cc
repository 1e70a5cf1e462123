// Citations: from OCR boxes or quoted text to pages, pixel boxes and character ranges.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/utf8.h"
#include "layout/layout.h"
#include "tasks/detail.h"

namespace glyph::detail {
namespace {

char32_t fold(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 32;
  switch (c) {
    case U'\u201C':
    case U'\u201D':
    case U'\u201E':
    case U'\u00AB':
    case U'\u00BB': return U'"';
    case U'\u2018':
    case U'\u2019':
    case U'\u201A': return U'\'';
    case U'\n':
    case U'\t':
    case U'\f':
    case U'\r':
    case U'\u00A0': return U' ';
    case U'\u2013':
    case U'\u2014': return U'-';
    default: return c;
  }
}

std::u32string folded(std::u32string_view text) {
  std::u32string out(text);
  for (char32_t& c : out) c = fold(c);
  return out;
}

std::u32string trim32(std::u32string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && (text[begin] == U' ' || text[begin] == U'\n')) ++begin;
  while (end > begin && (text[end - 1] == U' ' || text[end - 1] == U'\n' || text[end - 1] == U'\f'))
    --end;
  return std::u32string(text.substr(begin, end - begin));
}

size_t page_of_char(const Layout& layout, size_t at) {
  for (size_t p = 0; p < layout.pages.size(); ++p) {
    if (at < layout.pages[p].char_end) return p;
  }
  return layout.pages.empty() ? 0 : layout.pages.size() - 1;
}

// x in pixels of the glyph drawing character `at` on `line` (its pen position), or the line's
// end when no glyph at or after it.
double glyph_x_px(const LineLayout& line, size_t at, double scale_x, bool end) {
  for (const auto& glyph : line.glyphs) {
    if (glyph.char_index != kNoChar && glyph.char_index >= at) return glyph.x_pt * scale_x;
  }
  return (end ? line.x1_pt : line.x0_pt) * scale_x;
}

}  // namespace

std::vector<LineWindow> line_windows(const RenderedDocument& document) {
  std::vector<LineWindow> windows;
  const auto& layout = document.layout();
  for (size_t p = 0; p < layout.pages.size(); ++p) {
    const auto& lines = layout.pages[p].lines;
    for (size_t l = 0; l < lines.size(); ++l) {
      const size_t last = std::min(l + 1, lines.size() - 1);
      LineWindow window{p, l, last, document.slice(lines[l].char_start, lines[last].char_end)};
      windows.push_back(std::move(window));
    }
  }
  return windows;
}

Citation citation_for_range(const RenderedDocument& document, CharRange range, std::string quote) {
  const auto& layout = document.layout();
  Citation citation;
  citation.char_start = range.start;
  citation.char_end = range.end;
  citation.quote = std::move(quote);
  if (layout.pages.empty()) return citation;
  const size_t page_index = page_of_char(layout, range.start);
  const auto& page = layout.pages[page_index];
  citation.page = page.number;
  citation.source_page = document.source_page(range.start);
  const double scale_y = document.dpi() / 72.0;
  const double scale_x = scale_y * document.config().horizontal_scale;
  bool any = false;
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  for (const auto& line : page.lines) {
    if (line.char_end <= range.start || line.char_start >= range.end) continue;
    double lx0 = line.x0_pt * scale_x, lx1 = line.x1_pt * scale_x;
    if (range.start > line.char_start) lx0 = glyph_x_px(line, range.start, scale_x, false);
    if (range.end < line.char_end) lx1 = std::max(lx0, glyph_x_px(line, range.end, scale_x, true));
    const double ly0 = line.y0_pt * scale_y, ly1 = line.y1_pt * scale_y;
    if (!any) {
      x0 = lx0;
      y0 = ly0;
      x1 = lx1;
      y1 = ly1;
      any = true;
    } else {
      x0 = std::min(x0, lx0);
      y0 = std::min(y0, ly0);
      x1 = std::max(x1, lx1);
      y1 = std::max(y1, ly1);
    }
  }
  if (any) {
    citation.bbox_px = {static_cast<int>(std::floor(x0)), static_cast<int>(std::floor(y0)),
                        static_cast<int>(std::ceil(x1)), static_cast<int>(std::ceil(y1))};
  }
  return citation;
}

std::optional<CharRange> chars_in_box(const RenderedDocument& document, size_t page_index,
                                      const PixelBox& box) {
  const auto& lines = document.layout().pages.at(page_index).lines;
  const double scale_y = document.dpi() / 72.0;
  std::optional<CharRange> range;
  for (const auto& line : lines) {
    const double top = line.y0_pt * scale_y, bottom = line.y1_pt * scale_y;
    const double overlap =
        std::min<double>(bottom, box.bottom_px) - std::max<double>(top, box.top_px);
    if (overlap <= 0.5 * (bottom - top)) continue;
    if (!range) {
      range = CharRange{line.char_start, line.char_end};
    } else {
      range->start = std::min(range->start, line.char_start);
      range->end = std::max(range->end, line.char_end);
    }
  }
  return range;
}

CharRange align_quote(std::u32string_view text, CharRange range, std::u32string_view quote,
                      size_t* distance) {
  range.end = std::min(range.end, text.size());
  range.start = std::min(range.start, range.end);
  const std::u32string reference = folded(text.substr(range.start, range.end - range.start));
  const std::u32string query = folded(quote);
  const size_t n = reference.size(), m = query.size();
  if (m == 0 || n == 0) {
    if (distance) *distance = m;
    return range;
  }
  // Semi-global alignment: the whole quote against any substring of the reference. cost[j] is
  // the distance of the quote so far ending at reference position j; start[j] where that match
  // began.
  std::vector<size_t> cost(n + 1, 0), start(n + 1), next_cost(n + 1), next_start(n + 1);
  for (size_t j = 0; j <= n; ++j) start[j] = j;
  for (size_t i = 1; i <= m; ++i) {
    next_cost[0] = i;
    next_start[0] = 0;
    for (size_t j = 1; j <= n; ++j) {
      size_t best = cost[j - 1] + (query[i - 1] == reference[j - 1] ? 0 : 1);
      size_t from = start[j - 1];
      if (cost[j] + 1 < best) {
        best = cost[j] + 1;
        from = start[j];
      }
      if (next_cost[j - 1] + 1 < best) {
        best = next_cost[j - 1] + 1;
        from = next_start[j - 1];
      }
      next_cost[j] = best;
      next_start[j] = from;
    }
    std::swap(cost, next_cost);
    std::swap(start, next_start);
  }
  size_t best_end = 0;
  for (size_t j = 1; j <= n; ++j) {
    if (cost[j] < cost[best_end]) best_end = j;
  }
  if (distance) *distance = cost[best_end];
  return {range.start + start[best_end], range.start + best_end};
}

double question_coverage(const Bm25Index& index, std::string_view question,
                         std::string_view passage) {
  auto terms = index_terms(question);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const auto passage_terms = index_terms(passage);
  const std::set<std::string> present(passage_terms.begin(), passage_terms.end());
  double total = 0, covered = 0;
  for (const auto& term : terms) {
    const double weight = index.idf(term);
    total += weight;
    if (present.count(term)) covered += weight;
  }
  return total > 0 ? covered / total : 0.0;
}

}  // namespace glyph::detail

namespace glyph {

std::vector<Citation> cite_answer(const RenderedDocument& document, std::string_view question,
                                  std::string_view answer) {
  using detail::CharRange;
  std::vector<std::u32string> candidates;
  const std::u32string answer32 = decode_utf8(answer).text;
  // "> quoted line"
  size_t line_start = 0;
  while (line_start <= answer32.size()) {
    size_t line_end = answer32.find(U'\n', line_start);
    if (line_end == std::u32string::npos) line_end = answer32.size();
    std::u32string line =
        detail::trim32(std::u32string_view(answer32).substr(line_start, line_end - line_start));
    if (line.starts_with(U"> ")) {
      line = detail::trim32(std::u32string_view(line).substr(2));
      if (line.size() >= 2 && (line.front() == U'"' || line.front() == U'\u201C'))
        line = line.substr(1);
      if (!line.empty() && (line.back() == U'"' || line.back() == U'\u201D')) line.pop_back();
      if (!line.empty()) candidates.push_back(line);
    }
    line_start = line_end + 1;
  }
  // "quoted text" of three words or more
  for (size_t i = 0; i < answer32.size(); ++i) {
    if (answer32[i] != U'"' && answer32[i] != U'\u201C') continue;
    const size_t close = answer32.find_first_of(U"\"\u201D", i + 1);
    if (close == std::u32string::npos) break;
    std::u32string quoted =
        detail::trim32(std::u32string_view(answer32).substr(i + 1, close - i - 1));
    if (std::count(quoted.begin(), quoted.end(), U' ') >= 2) candidates.push_back(quoted);
    i = close;
  }
  // distinctive tokens: numbers of 3+ digits
  for (size_t i = 0; i < answer32.size();) {
    if (answer32[i] < U'0' || answer32[i] > U'9') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < answer32.size() && ((answer32[j] >= U'0' && answer32[j] <= U'9') ||
                                   answer32[j] == U',' || answer32[j] == U'.'))
      ++j;
    std::u32string number = answer32.substr(i, j - i);
    while (!number.empty() && (number.back() == U',' || number.back() == U'.')) number.pop_back();
    if (std::count_if(number.begin(), number.end(),
                      [](char32_t c) { return c >= U'0' && c <= U'9'; }) >= 3)
      candidates.push_back(number);
    i = j;
  }

  std::vector<Citation> citations;
  const std::u32string haystack = detail::folded(document.text());
  std::set<size_t> cited_starts;
  for (const auto& candidate : candidates) {
    const std::u32string needle = detail::folded(candidate);
    const size_t at = haystack.find(needle);
    if (at == std::u32string::npos || cited_starts.count(at)) continue;
    cited_starts.insert(at);
    citations.push_back(
        detail::citation_for_range(document, {at, at + needle.size()}, encode_utf8(candidate)));
    if (citations.size() >= 5) break;
  }
  if (!citations.empty()) return citations;

  // Nothing quoted verbatim: the line window that best matches the question and the answer.
  const auto windows = detail::line_windows(document);
  std::vector<std::string> texts;
  texts.reserve(windows.size());
  for (const auto& w : windows) texts.push_back(w.text);
  const Bm25Index index(texts);
  // A short answer ("Denmark") says little by itself: the question tells where it was found.
  std::string query(answer);
  if (index_terms(answer).size() < 4) query = std::string(question) + " " + query;
  const auto hits = index.search(query, 1);
  if (hits.empty() || hits[0].coverage < 0.5) return citations;
  const auto& window = windows[hits[0].document];
  const auto& lines = document.layout().pages[window.page_index].lines;
  CharRange range{lines[window.first_line].char_start, lines[window.last_line].char_end};
  // Narrow to the part of the window the answer is closest to when the answer is shorter.
  if (answer32.size() < range.end - range.start) {
    range = detail::align_quote(document.text(), range, answer32);
  }
  citations.push_back(
      detail::citation_for_range(document, range, document.slice(range.start, range.end)));
  return citations;
}

}  // namespace glyph
