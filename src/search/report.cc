// The search's front as a Markdown table and as a PNG plot (drawn with eval's chart pieces:
// the project's renderer for labels, pixel loops for the rest).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "eval/chart.h"
#include "search/search.h"

namespace glyph::search {
namespace {

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string describe(const Genome& g, const SearchSpace& space) {
  static const char* alignments[] = {"left", "center", "right", "justify"};
  std::string text = std::to_string(g.dpi) + " dpi, " +
                     page_sizes().at(static_cast<size_t>(g.page_size)).name + ", " +
                     space.fonts.at(static_cast<size_t>(g.font)).name + " " +
                     fixed(g.font_size_pt, 1) + "/" + fixed(g.font_size_pt + g.line_gap_pt, 1) +
                     ", " + alignments[static_cast<int>(g.alignment)] + ", margins " +
                     std::to_string(g.margin_x_pt) + "/" + std::to_string(g.margin_y_pt);
  if (g.horizontal_scale < 1) text += ", scale " + fixed(g.horizontal_scale, 2);
  if (g.first_line_indent_pt || g.left_indent_pt || g.right_indent_pt)
    text += ", indents " + std::to_string(g.first_line_indent_pt) + "/" +
            std::to_string(g.left_indent_pt) + "/" + std::to_string(g.right_indent_pt);
  if (g.space_before_pt || g.space_after_pt)
    text +=
        ", spacing " + std::to_string(g.space_before_pt) + "/" + std::to_string(g.space_after_pt);
  if (g.palette) text += ", " + palettes().at(static_cast<size_t>(g.palette)).name;
  if (g.newline_marker) text += ", \\n marker";
  std::string crops;
  if (g.auto_crop_width) crops += "w";
  if (g.auto_crop_last_page) crops += "l";
  if (g.auto_crop_height) crops += "h";
  text += ", crop " + (crops.empty() ? std::string("none") : crops);
  return text;
}

}  // namespace

std::string front_markdown(const SearchResult& result, const SearchSpace& space, double floor) {
  std::string out = "| compression | error rate | within floor | origin | generation | config |\n";
  out += "| ---: | ---: | --- | --- | ---: | --- |\n";
  auto row = [&](const Individual& i, const std::string& note) {
    out += "| " + fixed(i.compression, 2) + "x | " + fixed(100 * i.error_rate, 2) + "% | " +
           (i.feasible ? "yes" : "no") + " | " + i.origin + note + " | " +
           std::to_string(i.generation) + " | " + describe(i.genome, space) + " |\n";
  };
  for (size_t index : result.front) {
    std::string note;
    if (result.best && index == *result.best) note += " (best)";
    if (index == result.preset) note += " (preset)";
    row(result.evaluated[index], note);
  }
  out += "\n";
  if (!result.evaluated.empty()) {
    const Individual& preset = result.evaluated[result.preset];
    out += "Preset: " + fixed(preset.compression, 2) + "x at " + fixed(100 * preset.error_rate, 2) +
           "%.";
    if (result.best) {
      const Individual& best = result.evaluated[*result.best];
      out += " Best within " + fixed(100 * floor, 2) + "%: " + fixed(best.compression, 2) +
             "x at " + fixed(100 * best.error_rate, 2) + "% (" +
             fixed(preset.compression > 0 ? best.compression / preset.compression : 0, 2) +
             "x the preset's compression).";
    } else {
      out += " No config within " + fixed(100 * floor, 2) + "%.";
    }
    out += " " + std::to_string(result.evaluated.size()) + " configs, " +
           std::to_string(result.generations_done) + " generations.\n";
  }
  return out;
}

std::string front_png(const SearchResult& result, double floor, const std::string& title) {
  using namespace eval::chart;
  constexpr int kWidth = 900, kHeight = 600;
  constexpr int kLeft = 80, kRight = 40, kTop = 60, kBottom = 70;
  Canvas canvas(kWidth, kHeight);
  const Labels labels(13), small(11), heading(16);
  constexpr Color kAll{160, 160, 200}, kFront{31, 119, 180}, kBest{214, 39, 40},
      kPreset{44, 160, 44}, kFloor{255, 127, 14};

  double max_x = 1, max_y = std::max(floor * 2, 0.01);
  for (const auto& i : result.evaluated) max_x = std::max(max_x, i.compression);
  // The error axis shows up to 4x the floor (configs beyond sit on the top edge).
  for (const auto& i : result.evaluated) max_y = std::max(max_y, std::min(i.error_rate, floor * 4));
  const double x_step = nice_step(max_x, 8), y_step = nice_step(max_y * 100, 6) / 100;
  max_x = std::ceil(max_x * 1.05 / x_step) * x_step;
  max_y = std::ceil(max_y * 1.05 / y_step) * y_step;
  const int plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + x / max_x * plot_w; };
  auto py = [&](double y) { return kTop + (1 - std::min(y, max_y) / max_y) * plot_h; };

  for (double x = 0; x <= max_x + 1e-9; x += x_step) {
    canvas.fill(static_cast<int>(px(x)), kTop, static_cast<int>(px(x)) + 1, kTop + plot_h, kGrid);
    small.draw(canvas, number(x, x_step < 1 ? 1 : 0) + "x", px(x), kTop + plot_h + 6, kAxis, 0.5);
  }
  for (double y = 0; y <= max_y + 1e-12; y += y_step) {
    canvas.fill(kLeft, static_cast<int>(py(y)), kLeft + plot_w, static_cast<int>(py(y)) + 1, kGrid);
    small.draw(canvas, number(100 * y, y_step * 100 < 1 ? 1 : 0) + "%", kLeft - 8, py(y), kAxis, 1,
               0.5);
  }
  canvas.fill(kLeft, kTop, kLeft + 2, kTop + plot_h + 1, kAxis);
  canvas.fill(kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h + 2, kAxis);
  labels.draw(canvas, "compression (text tokens / visual tokens)", kLeft + plot_w / 2.0,
              kHeight - 30, kBlack, 0.5);
  labels.draw(canvas, "error rate (lower is better)", 18, kTop + plot_h / 2.0, kBlack, 0, 0.5,
              true);
  heading.draw(canvas, title, kLeft, 18, kBlack);

  // The floor.
  for (int x = kLeft; x < kLeft + plot_w; x += 8)
    canvas.fill(x, static_cast<int>(py(floor)), x + 4, static_cast<int>(py(floor)) + 2, kFloor);
  small.draw(canvas, "floor " + number(100 * floor, 1) + "%", kLeft + plot_w - 4, py(floor) - 16,
             kFloor, 1);

  for (const auto& i : result.evaluated)
    canvas.disc(px(i.compression), py(i.error_rate), 3, kAll, 0.7);
  for (size_t k = 1; k < result.front.size(); ++k) {
    const Individual& a = result.evaluated[result.front[k - 1]];
    const Individual& b = result.evaluated[result.front[k]];
    canvas.line(px(a.compression), py(a.error_rate), px(b.compression), py(b.error_rate), 2,
                kFront);
  }
  for (size_t index : result.front) {
    const Individual& i = result.evaluated[index];
    canvas.disc(px(i.compression), py(i.error_rate), 5, kFront);
  }
  if (!result.evaluated.empty()) {
    const Individual& preset = result.evaluated[result.preset];
    canvas.disc(px(preset.compression), py(preset.error_rate), 7, kPreset);
    labels.draw(canvas, "preset " + number(preset.compression, 2) + "x",
                px(preset.compression) + 10, py(preset.error_rate) - 18, kPreset);
  }
  if (result.best) {
    const Individual& best = result.evaluated[*result.best];
    canvas.disc(px(best.compression), py(best.error_rate), 7, kBest);
    labels.draw(canvas, "best " + number(best.compression, 2) + "x", px(best.compression) - 10,
                py(best.error_rate) + 6, kBest, 1);
  }
  small.draw(canvas,
             "gray: every config (those above the axis on its top edge); blue: the Pareto front",
             kLeft + 8, kTop + 6, kAxis);
  return encode_png(canvas.image());
}

}  // namespace glyph::search
