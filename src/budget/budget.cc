#include "budget/budget.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "core/error.h"
#include "tokens/visual_tokens.h"

namespace glyph {
namespace {

// A 5x7 dot font of its own for page marks: '#' and the digits, one row per string.
const char* const kDigits[10][7] = {
    {"01110", "10001", "10011", "10101", "11001", "10001", "01110"},
    {"00100", "01100", "00100", "00100", "00100", "00100", "01110"},
    {"01110", "10001", "00001", "00010", "00100", "01000", "11111"},
    {"11110", "00001", "00001", "01110", "00001", "00001", "11110"},
    {"00010", "00110", "01010", "10010", "11111", "00010", "00010"},
    {"11111", "10000", "11110", "00001", "00001", "10001", "01110"},
    {"00110", "01000", "10000", "11110", "10001", "10001", "01110"},
    {"11111", "00001", "00010", "00100", "01000", "01000", "01000"},
    {"01110", "10001", "10001", "01110", "10001", "10001", "01110"},
    {"01110", "10001", "10001", "01111", "00001", "00010", "01100"},
};
const char* const kHash[7] = {"01010", "01010", "11111", "01010", "11111", "01010", "01010"};

void draw_dots(PageImage& image, int x, int y, const char* const rows[7], int dot) {
  for (int r = 0; r < 7; ++r) {
    for (int c = 0; c < 5; ++c) {
      if (rows[r][c] != '1') continue;
      for (int dy = 0; dy < dot; ++dy) {
        const int py = y + r * dot + dy;
        if (py < 0 || py >= image.height_px) continue;
        uint8_t* row = image.row(py);
        for (int dx = 0; dx < dot; ++dx) {
          const int px = x + c * dot + dx;
          if (px < 0 || px >= image.width_px) continue;
          for (int ch = 0; ch < image.channels; ++ch) row[px * image.channels + ch] = 0;
        }
      }
    }
  }
}

// The band above a page: the mark with a margin of 3 dots around it (Tesseract, like models,
// reads little that touches an edge).
int band_height(int dot) {
  return page_mark_height(dot) + 6 * dot;
}

int scaled(int pixels, double scale) {
  return std::max(1, static_cast<int>(std::lround(pixels * scale)));
}

// Sizes of the images of a global pass.
std::vector<std::pair<int, int>> pass_image_sizes(const std::vector<std::pair<int, int>>& pages,
                                                  GlobalLayoutKind kind, int per_image,
                                                  double scale, int dot) {
  std::vector<std::pair<int, int>> sizes;
  const int band = band_height(dot);
  const size_t step = kind == GlobalLayoutKind::pages ? 1 : static_cast<size_t>(per_image);
  for (size_t first = 0; first < pages.size(); first += step) {
    int width = 0, height = 0;
    for (size_t p = first; p < std::min(pages.size(), first + step); ++p) {
      const int mark = page_mark_width(static_cast<int>(p + 1), dot) + 6 * dot;
      width = std::max({width, scaled(pages[p].first, scale), mark});
      height += band + scaled(pages[p].second, scale);
    }
    sizes.emplace_back(width, height);
  }
  return sizes;
}

int64_t pass_cost(const std::vector<std::pair<int, int>>& pages, GlobalLayoutKind kind,
                  int per_image, double scale, const GlobalPassOptions& options) {
  int64_t total = 0;
  for (const auto& [w, h] : pass_image_sizes(pages, kind, per_image, scale, options.mark_dot_px))
    total += image_cost(options.model, w, h);
  return total;
}

// Whether pass `a` keeps more legible characters per visual token than `b` (the same pages).
bool better_pass(const GlobalPassPlan& a, const GlobalPassPlan& b,
                 const GlobalPassOptions& options) {
  if (options.font_px <= 0) {
    if (std::abs(a.scale - b.scale) > 1e-9) return a.scale > b.scale;
    return a.tokens < b.tokens;
  }
  const double la = legible_share(options.font_px * a.scale);
  const double lb = legible_share(options.font_px * b.scale);
  if (la > 0 || lb > 0) {
    const double per_token_a = la / static_cast<double>(std::max<int64_t>(1, a.tokens));
    const double per_token_b = lb / static_cast<double>(std::max<int64_t>(1, b.tokens));
    if (std::abs(per_token_a - per_token_b) > 1e-12) return per_token_a > per_token_b;
  }
  if (a.tokens != b.tokens) return a.tokens < b.tokens;
  return a.scale > b.scale;
}

}  // namespace

double legible_share(double font_px) {
  // {pixels per em, share of characters read exactly}: bench/global_legibility.cc on the global
  // pass of the en preset (DejaVu Sans 9 pt) at 21, 32.4, 46.6 and 57.9 dpi, both layouts alike
  // (docs/budget.md). The share counts spaces, so about 0.83 is all words read. Linear between
  // the points, flat beyond them.
  static const std::pair<double, double> kTable[] = {
      {2.6, 0.0},
      {4.05, 0.035},
      {5.8, 0.54},
      {7.2, 0.72},
  };
  if (font_px <= kTable[0].first) return kTable[0].second;
  for (size_t i = 1; i < std::size(kTable); ++i) {
    if (font_px <= kTable[i].first) {
      const auto [x0, y0] = kTable[i - 1];
      const auto [x1, y1] = kTable[i];
      return y0 + (y1 - y0) * (font_px - x0) / (x1 - x0);
    }
  }
  return std::end(kTable)[-1].second;
}

std::optional<int64_t> family_context_tokens(std::string_view model) {
  static const std::pair<std::string_view, int64_t> kTable[] = {
      {"glyph", 131072},
      {"glm-4.1v", 65536},
      {"glm-4.5v", 65536},
      {"qwen2-vl", 32768},
      {"qwen2.5-vl", 128000},
      {"qwen3-vl", 262144},
      {"internvl3", 32768},
      {"internvl2.5", 32768},
      {"gemma3", 131072},
      {"deepseek-ocr-tiny", 8192},
      {"deepseek-ocr-small", 8192},
      {"deepseek-ocr-base", 8192},
      {"deepseek-ocr-large", 8192},
      {"deepseek-ocr-gundam", 8192},
  };
  for (const auto& [name, tokens] : kTable)
    if (name == model) return tokens;
  return std::nullopt;
}

BudgetArithmetic budget_from_context(int64_t context_tokens, std::string context_source,
                                     int64_t prompt_tokens, std::optional<int> max_tokens) {
  BudgetArithmetic out;
  out.context_tokens = context_tokens;
  out.context_source = std::move(context_source);
  out.prompt_tokens = prompt_tokens;
  out.answer_tokens = max_tokens ? *max_tokens : kAnswerReserveTokens;
  out.visual_tokens = context_tokens - prompt_tokens - out.answer_tokens - kChatTemplateTokens;
  return out;
}

int64_t image_cost(std::string_view model, int width_px, int height_px) {
  const VisualTokenCount count = count_visual_tokens(model, width_px, height_px);
  return count.tokens + count.wrapper_tokens;
}

int page_mark_width(int page, int dot) {
  const int chars = 1 + static_cast<int>(std::to_string(std::max(0, page)).size());
  return chars * 6 * dot - dot;
}

int page_mark_height(int dot) {
  return 7 * dot;
}

void draw_page_mark(PageImage& image, int x, int y, int page, int dot) {
  draw_dots(image, x, y, kHash, dot);
  x += 6 * dot;
  for (char c : std::to_string(std::max(0, page))) {
    draw_dots(image, x, y, kDigits[c - '0'], dot);
    x += 6 * dot;
  }
}

std::string_view to_string(GlobalLayoutKind kind) {
  return kind == GlobalLayoutKind::pages ? "pages" : "tiles";
}

std::optional<GlobalPassPlan> plan_global_pass(const std::vector<std::pair<int, int>>& page_sizes,
                                               int64_t max_tokens, const GlobalPassOptions& options,
                                               int64_t* minimum_tokens) {
  if (options.layout != "auto" && options.layout != "pages" && options.layout != "tiles") {
    throw Error(ErrorCode::invalid_argument,
                "the global layout must be auto, pages or tiles, not \"" + options.layout + "\"");
  }
  if (page_sizes.empty()) return std::nullopt;
  std::vector<GlobalLayoutKind> kinds;
  if (options.layout != "tiles") kinds.push_back(GlobalLayoutKind::pages);
  if (options.layout != "pages") kinds.push_back(GlobalLayoutKind::tiles);
  const int per_image = std::max(1, options.tile_pages);
  std::optional<GlobalPassPlan> best;
  int64_t minimum = INT64_MAX;
  for (GlobalLayoutKind kind : kinds) {
    minimum = std::min(minimum, pass_cost(page_sizes, kind, per_image, options.min_scale, options));
    // From full size down in steps of 7%, then min_scale itself.
    std::optional<GlobalPassPlan> found;
    for (double scale = 1.0;; scale *= 0.93) {
      const double s = std::max(scale, options.min_scale);
      const int64_t cost = pass_cost(page_sizes, kind, per_image, s, options);
      if (cost <= max_tokens) {
        GlobalPassPlan plan;
        plan.kind = kind;
        plan.scale = s;
        plan.pages_per_image = kind == GlobalLayoutKind::pages ? 1 : per_image;
        plan.images =
            static_cast<int>((page_sizes.size() + plan.pages_per_image - 1) / plan.pages_per_image);
        plan.tokens = cost;
        found = plan;
        break;
      }
      if (s <= options.min_scale) break;
    }
    if (found && (!best || better_pass(*found, *best, options))) best = found;
  }
  if (minimum_tokens) *minimum_tokens = minimum;
  return best;
}

std::vector<PageImage> compose_global_pass(const std::vector<const PageImage*>& pages,
                                           const std::vector<int>& numbers,
                                           const GlobalPassPlan& plan,
                                           const GlobalPassOptions& options) {
  std::vector<std::pair<int, int>> sizes;
  for (const PageImage* page : pages) sizes.emplace_back(page->width_px, page->height_px);
  const int dot = options.mark_dot_px;
  const auto image_sizes =
      pass_image_sizes(sizes, plan.kind, plan.pages_per_image, plan.scale, dot);
  const int channels = pages.empty() ? 1 : pages.front()->channels;
  std::vector<PageImage> images;
  const size_t step = static_cast<size_t>(plan.pages_per_image);
  for (size_t i = 0; i < image_sizes.size(); ++i) {
    PageImage image(image_sizes[i].first, image_sizes[i].second, channels, 255);
    int y = 0;
    for (size_t p = i * step; p < std::min(pages.size(), (i + 1) * step); ++p) {
      draw_page_mark(image, 3 * dot, y + 3 * dot, numbers[p], dot);
      y += band_height(dot);
      PageImage small = resize_area(*pages[p], scaled(pages[p]->width_px, plan.scale),
                                    scaled(pages[p]->height_px, plan.scale));
      if (small.channels != channels) small = channels == 1 ? to_gray(small) : to_rgb(small);
      for (int row = 0; row < small.height_px && y + row < image.height_px; ++row)
        std::copy_n(small.row(row), small.row_bytes(), image.row(y + row));
      y += small.height_px;
    }
    images.push_back(std::move(image));
  }
  return images;
}

std::vector<GlobalPassPlacement> global_pass_placements(
    const std::vector<std::pair<int, int>>& page_sizes, const GlobalPassPlan& plan,
    const GlobalPassOptions& options) {
  std::vector<GlobalPassPlacement> placements;
  const int band = band_height(options.mark_dot_px);
  const size_t step = static_cast<size_t>(std::max(1, plan.pages_per_image));
  int y = 0;
  for (size_t p = 0; p < page_sizes.size(); ++p) {
    if (p % step == 0) y = 0;
    GlobalPassPlacement placement;
    placement.image = p / step;
    const int width = scaled(page_sizes[p].first, plan.scale);
    const int height = scaled(page_sizes[p].second, plan.scale);
    placement.band = PixelBox{0, y, width, y + band};
    placement.page = PixelBox{0, y + band, width, y + band + height};
    y += band + height;
    placements.push_back(placement);
  }
  return placements;
}

}  // namespace glyph
