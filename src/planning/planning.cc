#include "planning/planning.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "core/error.h"
#include "raster/renderer.h"

namespace glyph {
namespace {

// The size of each page image as the renderer makes it. Only pages a crop applies to are drawn:
// every page with auto-crop-width, else the last one (auto-crop-last-page) and those a break left
// short (auto-crop-height); the others have the size of an uncropped page, drawn once.
std::vector<PageSizePx> page_sizes(const Renderer& renderer, const Layout& layout) {
  std::vector<PageSizePx> sizes(layout.pages.size());
  const RenderConfig& config = renderer.config();
  auto size_of = [&](std::size_t i) {
    const PageImage image = renderer.rasterize(layout, i);
    return PageSizePx{image.width_px, image.height_px, renderer.page_height_px()};
  };
  std::optional<PageSizePx> uncropped;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const bool cropped = config.auto_crop_width ||
                         (config.auto_crop_last_page && i + 1 == sizes.size()) ||
                         (config.auto_crop_height && layout.pages[i].cut_short);
    if (cropped) {
      sizes[i] = size_of(i);
    } else {
      if (!uncropped) uncropped = size_of(i);
      sizes[i] = *uncropped;
    }
  }
  return sizes;
}

std::int64_t visual_cost(const std::vector<PageSizePx>& sizes, std::string_view model,
                         const VisualTokenOptions& options) {
  std::int64_t total = 0;
  for (const auto& s : sizes)
    total += count_visual_tokens(model, s.width_px, s.height_px, options).tokens;
  return total;
}

}  // namespace

RenderMeasure measure_render(std::u32string_view text, const RenderConfig& config,
                             const Tokenizer& tokenizer, std::string_view model,
                             const VisualTokenOptions& options) {
  count_visual_tokens(model, 100, 100, options);  // an unknown model fails before any work
  const Renderer renderer(config, text_token_counter(tokenizer));
  RenderMeasure m;
  m.layout = renderer.lay_out(text);
  m.stats = compute_token_stats(text, m.layout, page_sizes(renderer, m.layout), tokenizer, model,
                                options);
  return m;
}

PlanResult plan_render(std::u32string_view text, const RenderConfig& base,
                       const Tokenizer& tokenizer, std::string_view model, std::int64_t budget,
                       const VisualTokenOptions& options) {
  if (budget < 1)
    throw Error(ErrorCode::invalid_argument, "budget must be at least 1 visual token");
  count_visual_tokens(model, 100, 100, options);

  // The ladder: dpi × font size (and line height with it) × newline style.
  std::vector<PlanStep> ladder;
  std::vector<double> dpis = {120, 96, 84, 72, 60, 48};
  if (std::find(dpis.begin(), dpis.end(), base.dpi) == dpis.end()) dpis.push_back(base.dpi);
  for (double dpi : dpis) {
    for (double shrink : {0.0, 1.0, 2.0}) {
      const double font = base.font_size_pt - shrink;
      if (font < 5) continue;
      const double line = std::max(font, base.line_height_pt - shrink);
      for (bool inline_newlines : {false, true}) {
        if (!base.newline.line_break && !inline_newlines) continue;  // already inline
        ladder.push_back({dpi, font, line, inline_newlines});
      }
    }
  }
  // Most legible first: the text's size in pixels, then line breaks at newlines, then leading.
  std::stable_sort(ladder.begin(), ladder.end(), [](const PlanStep& a, const PlanStep& b) {
    const double pa = a.font_size_pt * a.dpi, pb = b.font_size_pt * b.dpi;
    if (pa != pb) return pa > pb;
    if (a.inline_newlines != b.inline_newlines) return !a.inline_newlines;
    return a.line_height_pt > b.line_height_pt;
  });

  auto config_of = [&](const PlanStep& s) {
    RenderConfig c = base;
    c.dpi = s.dpi;
    c.font_size_pt = s.font_size_pt;
    c.line_height_pt = s.line_height_pt;
    if (s.inline_newlines && base.newline.line_break) {
      c.newline_markup = kInlineNewlineMarkup;
      c.newline.line_break = false;
      c.newline.inline_text = U" \\n ";
      c.newline.inline_color = Rgb{255, 0, 0};
    }
    return c;
  };

  // Layouts are in points: one per font setting, shared by every dpi.
  std::map<std::tuple<double, double, bool>, Layout> layouts;
  PlanResult result;
  for (PlanStep step : ladder) {
    const RenderConfig config = config_of(step);
    const Renderer renderer(config, text_token_counter(tokenizer));
    const auto key = std::make_tuple(step.font_size_pt, step.line_height_pt, step.inline_newlines);
    auto it = layouts.find(key);
    if (it == layouts.end()) it = layouts.emplace(key, renderer.lay_out(text)).first;
    const std::vector<PageSizePx> sizes = page_sizes(renderer, it->second);
    step.pages = sizes.size();
    step.visual_tokens = visual_cost(sizes, model, options);
    step.fits = step.visual_tokens <= budget;
    result.tried.push_back(step);
    if (step.fits) {
      result.found = true;
      result.config = config;
      result.stats = compute_token_stats(text, it->second, sizes, tokenizer, model, options);
      break;
    }
  }
  return result;
}

}  // namespace glyph
