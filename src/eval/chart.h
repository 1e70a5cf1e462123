// Drawing for the project's plots (eval's accuracy chart, search's Pareto front): an RGB canvas
// with anti-aliased discs and lines, and text labels rendered by the project's own renderer
// (DejaVu Sans at 72 dpi, so a point is a pixel). No plotting library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/utf8.h"
#include "image/image.h"
#include "raster/renderer.h"

namespace glyph::eval::chart {

struct Color {
  uint8_t r, g, b;
};

constexpr Color kBlack{0, 0, 0};
constexpr Color kGrid{225, 225, 225};
constexpr Color kAxis{90, 90, 90};
constexpr Color kPaper{150, 150, 150};
constexpr Color kPalette[] = {{31, 119, 180},  {214, 39, 40}, {44, 160, 44},   {255, 127, 14},
                              {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
constexpr Color kTextMode{60, 60, 60};

class Canvas {
 public:
  Canvas(int width, int height) : image_(width, height, 3, 255) {}
  PageImage& image() { return image_; }

  void blend(int x, int y, Color c, double alpha) {
    if (x < 0 || y < 0 || x >= image_.width_px || y >= image_.height_px || alpha <= 0) return;
    alpha = std::min(1.0, alpha);
    uint8_t* p = image_.row(y) + static_cast<size_t>(x) * 3;
    const uint8_t channel[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k)
      p[k] = static_cast<uint8_t>(std::lround(p[k] * (1 - alpha) + channel[k] * alpha));
  }
  void fill(int x0, int y0, int x1, int y1, Color c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) blend(x, y, c, 1);
  }
  // A disc with an anti-aliased edge.
  void disc(double cx, double cy, double radius, Color c, double alpha = 1) {
    for (int y = static_cast<int>(cy - radius - 1); y <= static_cast<int>(cy + radius + 1); ++y) {
      for (int x = static_cast<int>(cx - radius - 1); x <= static_cast<int>(cx + radius + 1); ++x) {
        const double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
        blend(x, y, c, alpha * std::clamp(radius + 0.5 - d, 0.0, 1.0));
      }
    }
  }
  // A line `width` pixels wide, drawn as overlapping discs.
  void line(double x0, double y0, double x1, double y1, double width, Color c) {
    const double length = std::hypot(x1 - x0, y1 - y0);
    const int steps = std::max(1, static_cast<int>(length * 2));
    for (int s = 0; s <= steps; ++s) {
      const double t = static_cast<double>(s) / steps;
      disc(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width / 2, c, 0.6);
    }
  }

 private:
  PageImage image_;
};

// Labels rendered by the project's renderer, gray coverage blended in a colour.
class Labels {
 public:
  explicit Labels(double size_pt) {
    RenderConfig config = preset_config("en");
    config.dpi = 72;
    config.font_size_pt = size_pt;
    config.line_height_pt = size_pt + 3;
    config.margin_x_pt = 1;
    config.margin_y_pt = 1;
    config.page_width_pt = 2000;
    config.page_height_pt = size_pt * 4;
    config.alignment = Alignment::left;
    config.auto_crop_width = true;
    config.auto_crop_last_page = true;
    config.fallback_fonts = default_fallback_fonts();
    renderer_ = std::make_unique<Renderer>(config);
  }

  PageImage render(std::string_view text) const {
    const Layout layout = renderer_->lay_out(decode_utf8(text).text);
    if (layout.pages.empty()) return {};
    return to_gray(renderer_->rasterize(layout, 0));
  }

  // Draws the text with its top-left at (x, y); anchor_x 0 = left, 0.5 = centre, 1 = right.
  // Returns the width drawn.
  int draw(Canvas& canvas, std::string_view text, double x, double y, Color c, double anchor_x = 0,
           double anchor_y = 0, bool vertical = false) const {
    const PageImage glyphs = render(text);
    if (glyphs.empty()) return 0;
    const int w = vertical ? glyphs.height_px : glyphs.width_px;
    const int h = vertical ? glyphs.width_px : glyphs.height_px;
    const int left = static_cast<int>(std::lround(x - anchor_x * w));
    const int top = static_cast<int>(std::lround(y - anchor_y * h));
    for (int gy = 0; gy < glyphs.height_px; ++gy) {
      const uint8_t* row = glyphs.row(gy);
      for (int gx = 0; gx < glyphs.width_px; ++gx) {
        const double coverage = (255 - row[gx]) / 255.0;
        if (coverage <= 0) continue;
        // Vertical text reads bottom to top: rotate 90 degrees counter-clockwise.
        const int px = vertical ? left + gy : left + gx;
        const int py = vertical ? top + (glyphs.width_px - 1 - gx) : top + gy;
        canvas.blend(px, py, c, coverage);
      }
    }
    return w;
  }

 private:
  std::unique_ptr<Renderer> renderer_;
};

inline double nice_step(double range, int target_ticks) {
  const double raw = range / target_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

inline std::string number(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace glyph::eval::chart
