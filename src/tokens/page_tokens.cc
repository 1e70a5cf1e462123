#include "tokens/page_tokens.h"

#include <algorithm>

#include "core/error.h"
#include "core/utf8.h"

namespace glyph {

TextTokenCounter text_token_counter(const Tokenizer& tokenizer) {
  return [&tokenizer](std::u32string_view text) { return tokenizer.count(encode_utf8(text)); };
}

TokenStats compute_token_stats(std::u32string_view text, const Layout& layout,
                               const std::vector<PageSizePx>& page_sizes,
                               const Tokenizer& tokenizer, std::string_view model,
                               const VisualTokenOptions& options) {
  if (page_sizes.size() != layout.pages.size()) {
    throw Error(ErrorCode::invalid_argument, "token stats: " + std::to_string(page_sizes.size()) +
                                                 " page sizes for " +
                                                 std::to_string(layout.pages.size()) + " pages");
  }
  TokenStats stats;
  stats.chars = text.size();
  stats.text_tokens = tokenizer.count(encode_utf8(text));
  for (std::size_t i = 0; i < layout.pages.size(); ++i) {
    const PageLayout& page = layout.pages[i];
    PageTokenStats p;
    p.page = page.number;
    const std::size_t start = std::min(page.char_start, text.size());
    const std::size_t end = std::min(std::max(page.char_end, start), text.size());
    p.chars = end - start;
    p.text_tokens = tokenizer.count(encode_utf8(text.substr(start, end - start)));
    p.width_px = page_sizes[i].width_px;
    p.height_px = page_sizes[i].height_px;
    p.visual = count_visual_tokens(model, p.width_px, p.height_px, options);
    p.ratio = p.visual.tokens > 0 ? double(p.text_tokens) / double(p.visual.tokens) : 0;
    if (page_sizes[i].uncropped_height_px > p.height_px) {
      const VisualTokenCount uncropped =
          count_visual_tokens(model, p.width_px, page_sizes[i].uncropped_height_px, options);
      p.saved_by_crop = std::max<std::int64_t>(0, uncropped.tokens - p.visual.tokens);
      stats.saved_by_crop += p.saved_by_crop;
    }
    stats.visual_tokens += p.visual.tokens;
    stats.wrapper_tokens += p.visual.wrapper_tokens;
    stats.model = p.visual.model;
    stats.pages.push_back(std::move(p));
  }
  if (stats.model.empty()) stats.model = count_visual_tokens(model, 1, 1, options).model;
  stats.ratio =
      stats.visual_tokens > 0 ? double(stats.text_tokens) / double(stats.visual_tokens) : 0;
  return stats;
}

}  // namespace glyph
