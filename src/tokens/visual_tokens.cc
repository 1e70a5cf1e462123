#include "tokens/visual_tokens.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace glyph {
namespace {

enum class Family { qwen2, qwen3, glm4v, internvl, gemma3, deepseek_ocr, deepseek_gundam };

struct ModelEntry {
  const char* name;
  const char* canonical;
  Family family;
  int view_px;  // DeepSeek-OCR view side
};

constexpr ModelEntry kModels[] = {
    {"qwen2-vl", "qwen2-vl", Family::qwen2, 0},
    {"qwen2.5-vl", "qwen2.5-vl", Family::qwen2, 0},
    {"qwen3-vl", "qwen3-vl", Family::qwen3, 0},
    {"glm-4.1v", "glm-4.1v", Family::glm4v, 0},
    {"glm-4.5v", "glm-4.5v", Family::glm4v, 0},
    {"glyph", "glm-4.1v", Family::glm4v, 0},
    {"internvl3", "internvl3", Family::internvl, 0},
    {"internvl2.5", "internvl2.5", Family::internvl, 0},
    {"gemma3", "gemma3", Family::gemma3, 0},
    {"deepseek-ocr-tiny", "deepseek-ocr-tiny", Family::deepseek_ocr, 512},
    {"deepseek-ocr-small", "deepseek-ocr-small", Family::deepseek_ocr, 640},
    {"deepseek-ocr-base", "deepseek-ocr-base", Family::deepseek_ocr, 1024},
    {"deepseek-ocr-large", "deepseek-ocr-large", Family::deepseek_ocr, 1280},
    {"deepseek-ocr-gundam", "deepseek-ocr-gundam", Family::deepseek_gundam, 640},
};

// Python's round(): halves to even (nearbyint under the default rounding mode).
std::int64_t py_round(double x) {
  return static_cast<std::int64_t>(std::nearbyint(x));
}

std::string ratio_text(int width_px, int height_px) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f",
                double(std::max(width_px, height_px)) / std::min(width_px, height_px));
  return buf;
}

void refuse_extreme_aspect(std::string_view model, int width_px, int height_px) {
  if (std::max(width_px, height_px) > 200.0 * std::min(width_px, height_px)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(model) + ": an image of " + std::to_string(width_px) + "x" +
                    std::to_string(height_px) + " has an aspect ratio of " +
                    ratio_text(width_px, height_px) +
                    ", over the processor's limit of 200; split it into smaller pages");
  }
}

struct SmartResizeRule {
  int factor;  // patch * merge
  int patch;
  int frames;  // GLM counts one image as 2 frames in the pixel caps
  std::int64_t min_pixels;
  std::int64_t max_pixels;
  bool scale_up_small_sides;  // GLM scales sides under the factor up first
};

// Qwen2-VL's smart_resize (and GLM-4.1V's, with frames = 2): sides to multiples of the factor,
// nearest first, then scaled down (floor) or up (ceil) to fit the pixel caps.
VisualTokenCount smart_resize(std::string_view model, int width_px, int height_px,
                              const SmartResizeRule& rule) {
  double height = height_px, width = width_px;
  const double factor = rule.factor;
  if (rule.scale_up_small_sides && (height_px < rule.factor || width_px < rule.factor)) {
    const double scale = std::max(factor / height, factor / width);
    height = std::trunc(height * scale);
    width = std::trunc(width * scale);
  }
  refuse_extreme_aspect(model, static_cast<int>(width), static_cast<int>(height));
  std::int64_t h_bar = py_round(height / factor) * rule.factor;
  std::int64_t w_bar = py_round(width / factor) * rule.factor;
  const std::int64_t frames = rule.frames;
  if (frames * h_bar * w_bar > rule.max_pixels) {
    const double beta = std::sqrt(double(frames) * height * width / double(rule.max_pixels));
    h_bar = std::max<std::int64_t>(
        rule.factor, static_cast<std::int64_t>(std::floor(height / beta / factor)) * rule.factor);
    w_bar = std::max<std::int64_t>(
        rule.factor, static_cast<std::int64_t>(std::floor(width / beta / factor)) * rule.factor);
  } else if (frames * h_bar * w_bar < rule.min_pixels) {
    const double beta = std::sqrt(double(rule.min_pixels) / (double(frames) * height * width));
    h_bar = static_cast<std::int64_t>(std::ceil(height * beta / factor)) * rule.factor;
    w_bar = static_cast<std::int64_t>(std::ceil(width * beta / factor)) * rule.factor;
  }
  // A zero minimum can leave a side at 0 after rounding; the model needs at least one unit.
  h_bar = std::max<std::int64_t>(h_bar, rule.factor);
  w_bar = std::max<std::int64_t>(w_bar, rule.factor);
  VisualTokenCount count;
  count.resized_height_px = static_cast<int>(h_bar);
  count.resized_width_px = static_cast<int>(w_bar);
  const std::int64_t merge = rule.factor / rule.patch;
  count.tokens = (h_bar / rule.patch) * (w_bar / rule.patch) / (merge * merge);
  count.wrapper_tokens = 2;
  return count;
}

struct Grid {
  int columns, rows;
};

// InternVL's tiling (transformers' GotOcr2 get_optimal_tiled_canvas, InternVL's
// find_closest_aspect_ratio): the grid whose columns/rows is closest to width/height, among
// grids with min..max tiles ordered by tile count; on an exact tie a later (larger) grid wins
// only while the image covers more than half of it.
Grid closest_grid(int width_px, int height_px, int tile_px, int min_tiles, int max_tiles) {
  std::vector<Grid> grids;
  for (int columns = 1; columns <= max_tiles; ++columns) {
    for (int rows = 1; rows <= max_tiles; ++rows) {
      if (columns * rows >= min_tiles && columns * rows <= max_tiles)
        grids.push_back({columns, rows});
    }
  }
  std::stable_sort(grids.begin(), grids.end(), [](const Grid& a, const Grid& b) {
    return a.columns * a.rows < b.columns * b.rows;
  });
  const double aspect = double(width_px) / double(height_px);
  const double area = double(width_px) * double(height_px);
  double best_diff = INFINITY;
  Grid best{1, 1};
  for (const Grid& g : grids) {
    const double diff = std::fabs(aspect - double(g.columns) / double(g.rows));
    if (diff < best_diff) {
      best_diff = diff;
      best = g;
    } else if (diff == best_diff && area > 0.5 * tile_px * tile_px * g.columns * g.rows) {
      best = g;
    }
  }
  return best;
}

const ModelEntry* find_model(std::string_view name) {
  for (const auto& m : kModels) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

std::string known_list() {
  std::string out;
  for (const auto& m : kModels) {
    if (!out.empty()) out += ", ";
    out += m.name;
  }
  return out;
}

}  // namespace

std::vector<std::string> known_visual_models() {
  std::vector<std::string> names;
  for (const auto& m : kModels) names.emplace_back(m.name);
  return names;
}

VisualTokenCount count_visual_tokens(std::string_view model, int width_px, int height_px,
                                     const VisualTokenOptions& options) {
  const ModelEntry* entry = find_model(model);
  if (!entry) {
    throw Error(ErrorCode::invalid_argument,
                "unknown model \"" + std::string(model) + "\"; known models: " + known_list());
  }
  if (width_px < 1 || height_px < 1) {
    throw Error(ErrorCode::invalid_argument, std::string(model) + ": image size " +
                                                 std::to_string(width_px) + "x" +
                                                 std::to_string(height_px) + " is empty");
  }
  const bool smart = entry->family == Family::qwen2 || entry->family == Family::qwen3 ||
                     entry->family == Family::glm4v;
  if (!smart && (options.min_pixels || options.max_pixels)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(model) +
                    ": --min-pixels/--max-pixels apply only to the Qwen and GLM families (this "
                    "model resizes to fixed tiles)");
  }
  if (options.min_pixels && *options.min_pixels < 0) {
    throw Error(ErrorCode::invalid_argument, "min pixels must not be negative");
  }
  if (options.max_pixels && *options.max_pixels < 1) {
    throw Error(ErrorCode::invalid_argument, "max pixels must be at least 1");
  }
  if (options.pan_and_scan && entry->family != Family::gemma3) {
    throw Error(ErrorCode::invalid_argument,
                std::string(model) + ": pan-and-scan applies only to gemma3");
  }
  if (options.max_tiles < 0 || options.max_tiles > 64) {
    throw Error(ErrorCode::invalid_argument, "max tiles must be between 1 and 64");
  }

  VisualTokenCount count;
  switch (entry->family) {
    case Family::qwen2:
      count = smart_resize(model, width_px, height_px,
                           {28, 14, 1, options.min_pixels.value_or(3136),
                            options.max_pixels.value_or(12845056), false});
      break;
    case Family::qwen3:
      count = smart_resize(model, width_px, height_px,
                           {32, 16, 1, options.min_pixels.value_or(65536),
                            options.max_pixels.value_or(16777216), false});
      break;
    case Family::glm4v:
      count = smart_resize(model, width_px, height_px,
                           {28, 14, 2, options.min_pixels.value_or(12544),
                            options.max_pixels.value_or(9633792), true});
      break;
    case Family::internvl: {
      constexpr int kTile = 448;
      const Grid g =
          closest_grid(width_px, height_px, kTile, 1, options.max_tiles ? options.max_tiles : 12);
      const int tiles = g.columns * g.rows;
      count.grid_columns = g.columns;
      count.grid_rows = g.rows;
      count.views = tiles > 1 ? tiles + 1 : 1;  // plus a thumbnail of the whole image
      count.tokens = 256LL * count.views;
      count.wrapper_tokens = 2;
      count.resized_width_px = kTile * g.columns;
      count.resized_height_px = kTile * g.rows;
      break;
    }
    case Family::gemma3: {
      int crops = 0;
      if (options.pan_and_scan) {
        // transformers' Gemma3ImageProcessor.pan_and_scan with its defaults: min crop 256,
        // at most 4 crops, active from an aspect ratio of 1.2.
        const bool landscape = width_px >= height_px;
        const double long_side = landscape ? width_px : height_px;
        const double short_side = landscape ? height_px : width_px;
        if (long_side / short_side >= 1.2) {
          int n = static_cast<int>(std::floor(long_side / short_side + 0.5));
          n = std::min(static_cast<int>(std::floor(long_side / 256.0)), n);
          n = std::min(4, std::max(2, n));
          const int crop_long = static_cast<int>(std::ceil(long_side / n));
          if (std::min<double>(crop_long, short_side) >= 256) crops = n;
          if (crops) {
            count.grid_columns = landscape ? crops : 1;
            count.grid_rows = landscape ? 1 : crops;
          }
        }
      }
      count.views = 1 + crops;
      count.tokens = 256LL * count.views;
      count.wrapper_tokens = 2LL * count.views;
      count.resized_width_px = count.resized_height_px = 896;
      break;
    }
    case Family::deepseek_ocr: {
      // One view of side s (resized or padded): q = ceil((s // 16) / 4) rows of q tokens, a
      // newline token per row, and one separator.
      const std::int64_t q = (entry->view_px / 16 + 3) / 4;
      count.tokens = q * (q + 1) + 1;
      count.resized_width_px = count.resized_height_px = entry->view_px;
      break;
    }
    case Family::deepseek_gundam: {
      // A 1024 global view (273 tokens) plus, for images over 640 on a side, 640-pixel crops on
      // the closest grid of 2..max_crops: (10*columns + 1) * (10*rows) tokens.
      constexpr std::int64_t kGlobalQ = 16, kTileQ = 10;
      count.tokens = kGlobalQ * (kGlobalQ + 1) + 1;
      count.resized_width_px = count.resized_height_px = 1024;
      if (width_px > 640 || height_px > 640) {
        const Grid g =
            closest_grid(width_px, height_px, 640, 2, options.max_tiles ? options.max_tiles : 6);
        count.grid_columns = g.columns;
        count.grid_rows = g.rows;
        count.views = 1 + g.columns * g.rows;
        count.tokens += (kTileQ * g.columns + 1) * (kTileQ * g.rows);
      }
      break;
    }
  }
  count.model = entry->canonical;
  return count;
}

}  // namespace glyph
