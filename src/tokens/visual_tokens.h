// How many tokens a vision-language model spends on one image of a given size, following what
// each family's Hugging Face image processor does (resize rules, pixel caps, tiling), as read
// from their source; see docs/tokens.md for the rule of each family.
//
// Families and names (aliases in parentheses):
//   qwen2-vl, qwen2.5-vl        smart resize to multiples of 28, (h/14)*(w/14)/4 tokens
//   qwen3-vl                    smart resize to multiples of 32, (h/16)*(w/16)/4 tokens
//   glm-4.1v (glyph, glm-4.5v)  like Qwen2-VL, the image counted as two frames in the caps
//   internvl3 (internvl2.5)     448-pixel tiles on the closest grid (≤ 12) + thumbnail, 256 each
//   gemma3                      256 per image; pan-and-scan adds 2-4 crops of 256
//   deepseek-ocr-tiny/-small/-base/-large   one view of 512/640/1024/1280 pixels
//   deepseek-ocr-gundam         a 1024 global view + 640-pixel tiles (2-6)
// Counts are the image placeholder tokens; the start/end tokens around them are reported apart
// (wrapper_tokens). Text the chat template adds around images is not counted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

struct VisualTokenOptions {
  // Pixel caps of the smart-resize families (Qwen, GLM); unset = the released configs'.
  std::optional<std::int64_t> min_pixels;
  std::optional<std::int64_t> max_pixels;
  // Gemma 3: the processor's do_pan_and_scan (off by default, as in the released config).
  bool pan_and_scan = false;
  // InternVL: max tiles (default 12); DeepSeek-OCR Gundam: max crops (default 6). 0 = default.
  int max_tiles = 0;
};

struct VisualTokenCount {
  std::string model;                // the canonical family name ("glm-4.1v" for "glyph")
  std::int64_t tokens = 0;          // image placeholder tokens
  std::int64_t wrapper_tokens = 0;  // start/end tokens around the placeholders (all views)
  int resized_width_px = 0;  // the size the processor resizes the image (or its global view) to
  int resized_height_px = 0;
  int grid_columns = 1;  // tiles or crops, when the family tiles (1×1 otherwise)
  int grid_rows = 1;
  int views = 1;  // images the model sees: 1, or tiles/crops + the global view
};

// Throws Error(invalid_argument) for an unknown model (the message lists the known ones), sizes
// under 1 pixel, options that do not apply to the model, and aspect ratios over 200 for the
// families whose processors refuse them.
VisualTokenCount count_visual_tokens(std::string_view model, int width_px, int height_px,
                                     const VisualTokenOptions& options = {});

// Every accepted model name, aliases included, in a stable order.
std::vector<std::string> known_visual_models();

}  // namespace glyph
