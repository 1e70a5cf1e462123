// What a render costs a model, and the most legible render that fits a budget of visual tokens.
//
// measure_render() lays the text out (honouring max-text-tokens-per-page), learns each page
// image's size as the renderer draws it (crops and horizontal scale included: pages are
// rasterized only when a crop makes their sizes differ), and counts text and visual tokens.
// plan_render() tries a ladder of settings, most legible first (the largest text in pixels:
// font size × dpi / 72; newlines as line breaks before inline markers; more line height), and
// returns the first whose pages fit the budget.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "tokens/page_tokens.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph {

struct RenderMeasure {
  TokenStats stats;
  Layout layout;
};

// Throws Error(not_found) for a missing font, Error(invalid_argument) from count_visual_tokens.
RenderMeasure measure_render(std::u32string_view text, const RenderConfig& config,
                             const Tokenizer& tokenizer, std::string_view model,
                             const VisualTokenOptions& options = {});

struct PlanStep {
  double dpi = 72;
  double font_size_pt = 9;
  double line_height_pt = 10;
  bool inline_newlines = false;  // newline-markup: a red " \n " in the running text
  std::size_t pages = 0;
  std::int64_t visual_tokens = 0;
  bool fits = false;
};

struct PlanResult {
  bool found = false;
  RenderConfig config;          // the chosen settings applied to the base config
  TokenStats stats;             // of the chosen render
  std::vector<PlanStep> tried;  // in the order tried, the chosen one last
};

// The markup plan_render() uses for inline newlines, as a Glyph config writes it.
inline constexpr const char* kInlineNewlineMarkup = "<font color=\"#FF0000\"> \\n </font>";

// Tries settings from the most legible down until one fits `budget` visual tokens. When none
// fits, found is false and `tried` tells the smallest cost reached.
PlanResult plan_render(std::u32string_view text, const RenderConfig& base,
                       const Tokenizer& tokenizer, std::string_view model, std::int64_t budget,
                       const VisualTokenOptions& options = {});

}  // namespace glyph
