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
#include "eval/chart.h"
#include "eval/eval.h"
#include "image/image.h"
#include "raster/renderer.h"

namespace glyph::eval {

std::string plot_png(const Summary& summary, const std::string& title) {
  using namespace chart;
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
