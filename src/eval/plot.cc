// The plot of a run: accuracy (0..100) against compression (text tokens / visual tokens), one
// large labelled point per mode (the mean over tasks), small points per task x length, a line
// through the modes, and the Glyph paper's three RULER points in gray for reference.
//
// Drawn into a PageImage with this project's renderer for the labels (DejaVu Sans at 72 dpi, so a
// point is a pixel) and plain pixel loops for axes, lines and discs; encoded as PNG. No plotting
// library and no Python at run time.
#include <algorithm>
#include <cmath>
#include <map>

#include "config/config.h"
#include "core/utf8.h"
#include "eval/eval.h"
#include "image/image.h"
#include "raster/renderer.h"

namespace glyph::eval {
namespace {

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

double nice_step(double range, int target_ticks) {
  const double raw = range / target_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

std::string number(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

}  // namespace

std::string plot_png(const Summary& summary, const std::string& title) {
  constexpr int kWidth = 960, kHeight = 640;
  constexpr int kLeft = 80, kRight = 230, kTop = 60, kBottom = 70;
  Canvas canvas(kWidth, kHeight);
  const Labels labels(13), small(11), heading(16);

  struct PaperPoint {
    double compression, score;
    const char* label;
  };
  const bool ruler = std::any_of(summary.rows.begin(), summary.rows.end(),
                                 [](const SummaryRow& r) { return r.suite == "ruler"; });
  const std::vector<PaperPoint> paper =
      ruler ? std::vector<PaperPoint>{{4.0, 72.17, "Glyph paper, 72 dpi"},
                                      {2.2, 91.23, "Glyph paper, 96 dpi"},
                                      {1.2, 94.67, "Glyph paper, 120 dpi"}}
            : std::vector<PaperPoint>{};

  double max_x = 2;
  for (const auto& r : summary.rows) max_x = std::max(max_x, r.compression);
  for (const auto& m : summary.modes) max_x = std::max(max_x, m.compression);
  for (const auto& p : paper) max_x = std::max(max_x, p.compression);
  const double x_step = nice_step(max_x, 8);
  max_x = std::ceil(max_x * 1.05 / x_step) * x_step;
  const int plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + x / max_x * plot_w; };
  auto py = [&](double y) { return kTop + (1 - y / 100.0) * plot_h; };

  // Grid, axes, ticks.
  for (double x = 0; x <= max_x + 1e-9; x += x_step) {
    canvas.fill(static_cast<int>(px(x)), kTop, static_cast<int>(px(x)) + 1, kTop + plot_h, kGrid);
    small.draw(canvas, number(x, x_step < 1 ? 1 : 0) + "x", px(x), kTop + plot_h + 6, kAxis, 0.5);
  }
  for (int y = 0; y <= 100; y += 10) {
    canvas.fill(kLeft, static_cast<int>(py(y)), kLeft + plot_w, static_cast<int>(py(y)) + 1, kGrid);
    small.draw(canvas, std::to_string(y), kLeft - 8, py(y), kAxis, 1, 0.5);
  }
  canvas.fill(kLeft, kTop, kLeft + 2, kTop + plot_h + 1, kAxis);
  canvas.fill(kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h + 2, kAxis);
  labels.draw(canvas, "compression (text tokens / visual tokens)", kLeft + plot_w / 2.0,
              kHeight - 30, kBlack, 0.5);
  labels.draw(canvas, "accuracy (mean over tasks)", 18, kTop + plot_h / 2.0, kBlack, 0, 0.5, true);
  heading.draw(canvas, title, kLeft, 18, kBlack);

  // The paper's points.
  for (const auto& p : paper) {
    canvas.disc(px(p.compression), py(p.score), 5, kPaper);
    small.draw(canvas, p.label, px(p.compression) + 8, py(p.score) - 14, kPaper);
  }

  // Small points: each task x mode x length.
  std::map<std::string, Color> colors;
  size_t next = 0;
  for (const auto& m : summary.modes)
    colors[m.mode] = m.mode == "text" ? kTextMode : kPalette[next++ % std::size(kPalette)];
  for (const auto& r : summary.rows) {
    if (r.items == r.errors) continue;
    const Color c = colors.count(r.mode) ? colors[r.mode] : kTextMode;
    canvas.disc(px(r.compression), py(r.score), 3.5, c, 0.45);
  }

  // The modes: a line through them by compression, large points, labels.
  std::vector<const ModeSummary*> ordered;
  for (const auto& m : summary.modes)
    if (m.items > m.errors) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(), [](const ModeSummary* a, const ModeSummary* b) {
    return a->compression < b->compression;
  });
  for (size_t i = 1; i < ordered.size(); ++i) {
    canvas.line(px(ordered[i - 1]->compression), py(ordered[i - 1]->score),
                px(ordered[i]->compression), py(ordered[i]->score), 2, kAxis);
  }
  int legend_y = kTop;
  for (const ModeSummary* m : ordered) {
    const Color c = colors[m->mode];
    canvas.disc(px(m->compression), py(m->score), 7, c);
    const std::string name = m->mode == "text" ? "text" : number(m->dpi, 0) + " dpi";
    labels.draw(canvas, name, px(m->compression) + 10, py(m->score) + 2, c);
    // Legend on the right: mode, score, compression.
    canvas.disc(kLeft + plot_w + 22, legend_y + 9, 6, c);
    labels.draw(canvas,
                name + ": " + number(m->score, 1) + " at " + number(m->compression, 2) + "x",
                kLeft + plot_w + 34, legend_y, kBlack);
    legend_y += 24;
  }
  if (!paper.empty()) {
    canvas.disc(kLeft + plot_w + 22, legend_y + 9, 5, kPaper);
    small.draw(canvas, "Glyph paper (RULER)", kLeft + plot_w + 34, legend_y + 1, kPaper);
    legend_y += 24;
  }
  small.draw(canvas, "small dots: task x length", kLeft + plot_w + 16, legend_y + 4, kAxis);
  return encode_png(canvas.image());
}

}  // namespace glyph::eval
