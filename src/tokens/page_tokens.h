// Token accounting of a rendered text: per page and in total, the characters, the text tokens of
// the page's text, the visual tokens a model spends on the page image, and the compression ratio
// (text tokens ÷ visual tokens, as the Glyph paper reports it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "layout/layout.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph {

// A counter for lay_out()'s max-text-tokens-per-page; `tokenizer` must outlive it.
TextTokenCounter text_token_counter(const Tokenizer& tokenizer);

struct PageSizePx {
  int width_px = 0, height_px = 0;
  int uncropped_height_px = 0;  // the page's height before any crop of its height; 0 = height_px
};

struct PageTokenStats {
  int page = 1;
  std::size_t chars = 0;
  std::size_t text_tokens = 0;
  int width_px = 0, height_px = 0;  // the page image as rendered (after crops and scale)
  VisualTokenCount visual;          // for the model, after its resize and caps
  double ratio = 0;                 // text_tokens ÷ visual tokens (0 when no visual tokens)
  // Visual tokens the crop of the page's height saved: those of the page at its uncropped height
  // (same width) minus `visual.tokens`; 0 for a page not cropped in height.
  std::int64_t saved_by_crop = 0;
};

struct TokenStats {
  std::string model;
  std::vector<PageTokenStats> pages;
  std::size_t chars = 0;
  std::size_t text_tokens = 0;     // of the whole rendered text
  std::int64_t visual_tokens = 0;  // sum over pages (placeholders; wrappers apart)
  std::int64_t wrapper_tokens = 0;
  std::int64_t saved_by_crop = 0;  // sum over pages of PageTokenStats::saved_by_crop
  double ratio = 0;                // text_tokens ÷ visual_tokens
};

// `page_sizes` holds the pixel size of each page image of `layout` (same count). Throws
// Error(invalid_argument) on a count mismatch or from count_visual_tokens().
TokenStats compute_token_stats(std::u32string_view text, const Layout& layout,
                               const std::vector<PageSizePx>& page_sizes,
                               const Tokenizer& tokenizer, std::string_view model,
                               const VisualTokenOptions& options = {});

}  // namespace glyph
