// Budgets of visual tokens: how many a request may spend on images, and the global pass that
// shows a whole document in a share of them.
//
// The budget of a request is the model's context (the server's /v1/models max_model_len or
// context_length, else the family's released context below) minus the prompt's text tokens,
// the answer's max_tokens (kAnswerReserveTokens when unset) and kChatTemplateTokens for the
// chat template's own tokens. An image costs its placeholder tokens plus the start/end tokens
// around them (count_visual_tokens: tokens + wrapper_tokens).
//
// The global pass shows every page at a lower density, each page marked with its number ("#12",
// drawn in a band above the page in a bitmap font of its own, so that a reader of the images can
// say which pages it means). Two layouts: "pages" (one image per page, scaled) and "tiles"
// (several pages stacked into one image, scaled). "auto" takes the layout that keeps more legible
// characters per visual token: legible_share() of its text size over its tokens, a table measured
// with Tesseract on the global pass of both layouts (bench/global_legibility.cc, docs/budget.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/image.h"
#include "read/reader.h"

namespace glyph {

// The context window of a model family's released checkpoints (max_position_embeddings of its
// config.json), by the names count_visual_tokens() takes: glyph 131072, glm-4.1v/glm-4.5v 65536,
// qwen2-vl 32768, qwen2.5-vl 128000, qwen3-vl 262144, internvl3/internvl2.5 32768, gemma3
// 131072, deepseek-ocr-* 8192. Unset for an unknown name.
std::optional<int64_t> family_context_tokens(std::string_view model);

inline constexpr int64_t kAnswerReserveTokens = 1024;  // the answer, when max_tokens is unset
inline constexpr int64_t kChatTemplateTokens = 32;     // role markers and the like

struct BudgetArithmetic {
  int64_t context_tokens = 0;
  std::string context_source;  // "server", "family table (glm-4.1v)", "--budget"
  int64_t prompt_tokens = 0;   // text tokens of the prompt
  int64_t answer_tokens = 0;   // max_tokens, or the reserve
  int64_t visual_tokens = 0;   // what is left for images; may be <= 0
};

// context - prompt - answer - kChatTemplateTokens.
BudgetArithmetic budget_from_context(int64_t context_tokens, std::string context_source,
                                     int64_t prompt_tokens, std::optional<int> max_tokens);

// Tokens of one image for the model family, wrapper tokens included.
int64_t image_cost(std::string_view model, int width_px, int height_px);

// --- page marks ---

// Size in pixels of the mark "#<page>" at `dot` pixels per dot of the 5x7 font.
int page_mark_width(int page, int dot);
int page_mark_height(int dot);
// Draws "#<page>" in black with its top-left corner at (x, y), clipped to the image.
void draw_page_mark(PageImage& image, int x, int y, int page, int dot);

// --- the global pass ---

enum class GlobalLayoutKind { pages, tiles };
std::string_view to_string(GlobalLayoutKind kind);  // "pages", "tiles"

struct GlobalPassOptions {
  std::string model = "glm-4.1v";  // visual-token family
  std::string layout = "auto";     // "auto", "pages", "tiles"
  int tile_pages = 8;              // pages per image in the tiles layout
  int mark_dot_px = 2;             // the page mark's dot size
  double min_scale = 0.04;         // smaller pages say nothing: below it the pass does not fit
  // The text's font size in pixels on the full-size pages (font-size pt x dpi / 72); 0 when
  // unknown: auto then takes the larger scale, and at equal scales the fewer tokens.
  double font_px = 0;
};

struct GlobalPassPlan {
  GlobalLayoutKind kind = GlobalLayoutKind::pages;
  double scale = 1;  // of the page images
  int pages_per_image = 1;
  int images = 0;
  int64_t tokens = 0;
};

// The share of characters Tesseract reads exactly (words read as written, in order) when the text
// is drawn at `font_px` pixels per em, interpolated in a table measured on the global pass
// (bench/global_legibility.cc, DejaVu Sans at 9 pt; docs/budget.md): 0 up to 2.6 pixels, about
// half of the characters at 5.8, most from 7.
double legible_share(double font_px);

// The global pass of these page sizes that costs at most `max_tokens`: for each layout allowed,
// the largest scale that fits; of the two (auto), the one with more legible characters per visual
// token (legible_share(font_px x scale) / tokens); where neither is legible, or both are at the
// same scale, the one that costs fewer tokens (the rest goes to focused regions). Without
// font_px, the larger scale. Unset when even min_scale does not fit. minimum_tokens (when given)
// receives the cost at min_scale in the cheapest layout.
std::optional<GlobalPassPlan> plan_global_pass(const std::vector<std::pair<int, int>>& page_sizes,
                                               int64_t max_tokens, const GlobalPassOptions& options,
                                               int64_t* minimum_tokens = nullptr);

// The images of a global pass: pages scaled, each under a band with its mark. `pages` are the
// full-resolution page images, `numbers` their 1-based page numbers.
std::vector<PageImage> compose_global_pass(const std::vector<const PageImage*>& pages,
                                           const std::vector<int>& numbers,
                                           const GlobalPassPlan& plan,
                                           const GlobalPassOptions& options);

// Where compose_global_pass() puts each page: its image (index in the pass) and the box of the
// scaled page and of its band (the mark above it) in that image's pixels.
struct GlobalPassPlacement {
  size_t image = 0;
  PixelBox band;
  PixelBox page;
};
std::vector<GlobalPassPlacement> global_pass_placements(
    const std::vector<std::pair<int, int>>& page_sizes, const GlobalPassPlan& plan,
    const GlobalPassOptions& options);

}  // namespace glyph
