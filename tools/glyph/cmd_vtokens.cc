#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "tokens/visual_tokens.h"

namespace glyph::cli {

namespace {

// "595x842" → width, height.
void parse_size(const std::string& text, int* width_px, int* height_px) {
  int w = 0, h = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%dx%d%c", &w, &h, &tail) != 2 || w < 1 || h < 1 || w > 1000000 ||
      h > 1000000) {
    throw Error(ErrorCode::invalid_argument,
                "image size \"" + text + "\" is not WIDTHxHEIGHT in pixels (e.g. 595x842)");
  }
  *width_px = w;
  *height_px = h;
}

}  // namespace

void add_vtokens_command(CLI::App& app) {
  struct Options {
    std::string model = "glyph";
    std::string size;
    bool with_wrappers = false;
    bool json = false;
    bool pan_and_scan = false;
    std::int64_t min_pixels = -1;
    std::int64_t max_pixels = -1;
    int max_tiles = 0;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "vtokens", "Count the visual tokens a model spends on an image of WxH pixels");
  cmd->add_option("size", options->size, "Image size in pixels, WIDTHxHEIGHT (e.g. 595x842)")
      ->required();
  cmd->add_option("--model,-m", options->model,
                  "Model (default glyph); an unknown name lists the known ones");
  cmd->add_flag("--with-wrappers", options->with_wrappers, "Add the image start/end tokens");
  cmd->add_option("--min-pixels", options->min_pixels,
                  "Pixel floor of the Qwen/GLM resize (default: the model's)");
  cmd->add_option("--max-pixels", options->max_pixels,
                  "Pixel cap of the Qwen/GLM resize (default: the model's)");
  cmd->add_flag("--pan-and-scan", options->pan_and_scan,
                "Gemma 3: crop long images into 2-4 extra views");
  cmd->add_option("--max-tiles", options->max_tiles,
                  "InternVL tiles (default 12) or DeepSeek-OCR Gundam crops (default 6)");
  cmd->add_flag("--json", options->json, "Print the count, the resized size and the grid as JSON");
  cmd->callback([options] {
    int width_px = 0, height_px = 0;
    parse_size(options->size, &width_px, &height_px);
    VisualTokenOptions vt;
    if (options->min_pixels >= 0) vt.min_pixels = options->min_pixels;
    if (options->max_pixels >= 0) vt.max_pixels = options->max_pixels;
    vt.pan_and_scan = options->pan_and_scan;
    vt.max_tiles = options->max_tiles;
    const VisualTokenCount c = count_visual_tokens(options->model, width_px, height_px, vt);
    const std::int64_t total = c.tokens + (options->with_wrappers ? c.wrapper_tokens : 0);
    if (!options->json) {
      std::cout << total << "\n";
      return;
    }
    std::cout << "{\"model\": \"" << c.model << "\", \"width\": " << width_px
              << ", \"height\": " << height_px << ", \"resized_width\": " << c.resized_width_px
              << ", \"resized_height\": " << c.resized_height_px << ", \"grid\": ["
              << c.grid_columns << ", " << c.grid_rows << "], \"views\": " << c.views
              << ", \"tokens\": " << total << ", \"wrapper_tokens\": " << c.wrapper_tokens << "}\n";
  });
}

}  // namespace glyph::cli
