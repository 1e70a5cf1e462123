// The search space: fonts, page sizes, palettes, the genome's bounds, the genetic operators and
// the translation between genomes and Glyph configs.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/sha256.h"
#include "search/search.h"

namespace glyph::search {
namespace {

using nlohmann::json;

constexpr int kDpiMin = 45, kDpiMax = 300;
constexpr double kSizeMin = 7, kSizeMax = 14, kGapMax = 3, kHalf = 0.5;
constexpr int kMarginMin = 10, kMarginMax = 40;
constexpr int kFirstIndentMax = 24, kIndentMax = 12, kSpaceMax = 6;
constexpr double kScaleMin = 0.75, kScaleStep = 0.05;
constexpr const char* kNewlineMarker = "<font color=\"#FF0000\"> \\n </font>";
constexpr const char* kAlignments[] = {"LEFT", "CENTER", "RIGHT", "JUSTIFY"};

double snap(double value, double step) {
  return std::round(value / step) * step;
}

bool on_grid(double value, double step) {
  return std::abs(value - snap(value, step)) < 1e-6;
}

// The number of genes mutate() and crossover() know.
constexpr int kGenes = 17;
// The share of gene mutations that redraw the gene over its whole range instead of stepping it.
constexpr double kResetRate = 0.15;

}  // namespace

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int Rng::uniform_int(int low, int high) {
  if (high <= low) return low;
  const uint64_t span = static_cast<uint64_t>(high - low) + 1;
  return low + static_cast<int>(next() % span);
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::vector<FontChoice> installed_fonts() {
  static const std::vector<FontChoice> candidates = {
      {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVu Sans", "sans"},
      {"/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf", "DejaVu Sans Condensed", "sans"},
      {"/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "DejaVu Serif", "serif"},
      {"/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed.ttf", "DejaVu Serif Condensed",
       "serif"},
      {"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "DejaVu Sans Mono", "mono"},
      {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2", "Noto Sans CJK SC", "sans"},
      {"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc#2", "Noto Serif CJK SC", "serif"},
      {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#7", "Noto Sans Mono CJK SC", "mono"},
      {"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "Droid Sans Fallback", "sans"},
  };
  std::vector<FontChoice> found;
  for (const auto& font : candidates) {
    std::error_code error;
    if (std::filesystem::exists(parse_font_ref(font.path).path, error)) found.push_back(font);
  }
  return found;
}

const std::vector<PageSize>& page_sizes() {
  static const std::vector<PageSize> sizes = {
      {"A4", 595, 842},     {"A5", 420, 595},     {"B5", 499, 709},
      {"Letter", 612, 792}, {"Legal", 612, 1008}, {"A4 landscape", 842, 595},
      {"square", 595, 595}, {"16:9", 842, 474},   {"4:3", 794, 595},
  };
  return sizes;
}

const std::vector<Palette>& palettes() {
  static const std::vector<Palette> list = {
      {"black on white", {0, 0, 0}, {255, 255, 255}},
      {"dark gray on white", {64, 64, 64}, {255, 255, 255}},
      {"navy on white", {0, 0, 128}, {255, 255, 255}},
      {"sepia", {60, 40, 20}, {245, 235, 215}},
      {"gray on light gray", {90, 90, 90}, {230, 230, 230}},
      {"white on black", {255, 255, 255}, {0, 0, 0}},
  };
  return list;
}

SearchSpace make_space(const RenderConfig& base) {
  SearchSpace space;
  space.base = base;
  space.fonts = installed_fonts();
  const bool known = std::any_of(space.fonts.begin(), space.fonts.end(),
                                 [&](const FontChoice& f) { return f.path == base.font_path; });
  if (!known && !base.font_path.empty())
    space.fonts.insert(space.fonts.begin(), {base.font_path, base.font_path, "sans"});
  if (space.fonts.empty())
    throw Error(ErrorCode::not_found, "search: no font installed to search over");
  return space;
}

bool is_valid(const Genome& g, const SearchSpace& space) {
  return g.dpi >= kDpiMin && g.dpi <= kDpiMax && g.page_size >= 0 &&
         g.page_size < static_cast<int>(page_sizes().size()) && g.font >= 0 &&
         g.font < static_cast<int>(space.fonts.size()) && g.font_size_pt >= kSizeMin - 1e-9 &&
         g.font_size_pt <= kSizeMax + 1e-9 && on_grid(g.font_size_pt, kHalf) &&
         g.line_gap_pt >= -1e-9 && g.line_gap_pt <= kGapMax + 1e-9 &&
         on_grid(g.line_gap_pt, kHalf) && g.margin_x_pt >= kMarginMin &&
         g.margin_x_pt <= kMarginMax && g.margin_y_pt >= kMarginMin &&
         g.margin_y_pt <= kMarginMax && g.first_line_indent_pt >= 0 &&
         g.first_line_indent_pt <= kFirstIndentMax && g.left_indent_pt >= 0 &&
         g.left_indent_pt <= kIndentMax && g.right_indent_pt >= 0 &&
         g.right_indent_pt <= kIndentMax && g.space_before_pt >= 0 &&
         g.space_before_pt <= kSpaceMax && g.space_after_pt >= 0 && g.space_after_pt <= kSpaceMax &&
         g.horizontal_scale >= kScaleMin - 1e-9 && g.horizontal_scale <= 1 + 1e-9 &&
         on_grid(g.horizontal_scale, kScaleStep) && g.palette >= 0 &&
         g.palette < static_cast<int>(palettes().size());
}

Genome random_genome(const SearchSpace& space, Rng& rng) {
  Genome g;
  g.dpi = rng.uniform_int(kDpiMin, kDpiMax);
  g.page_size = rng.uniform_int(0, static_cast<int>(page_sizes().size()) - 1);
  g.font = rng.uniform_int(0, static_cast<int>(space.fonts.size()) - 1);
  g.font_size_pt =
      kSizeMin + kHalf * rng.uniform_int(0, static_cast<int>((kSizeMax - kSizeMin) * 2));
  g.line_gap_pt = kHalf * rng.uniform_int(0, static_cast<int>(kGapMax * 2));
  g.alignment = static_cast<Alignment>(rng.uniform_int(0, 3));
  g.margin_x_pt = rng.uniform_int(kMarginMin, kMarginMax);
  g.margin_y_pt = rng.uniform_int(kMarginMin, kMarginMax);
  g.first_line_indent_pt = rng.uniform_int(0, kFirstIndentMax);
  g.left_indent_pt = rng.uniform_int(0, kIndentMax);
  g.right_indent_pt = rng.uniform_int(0, kIndentMax);
  g.space_before_pt = rng.uniform_int(0, kSpaceMax);
  g.space_after_pt = rng.uniform_int(0, kSpaceMax);
  g.horizontal_scale = snap(kScaleMin + kScaleStep * rng.uniform_int(0, 5), kScaleStep);
  g.palette = rng.uniform_int(0, static_cast<int>(palettes().size()) - 1);
  g.newline_marker = rng.chance(0.5);
  g.auto_crop_width = rng.chance(0.5);
  g.auto_crop_last_page = rng.chance(0.5);
  g.auto_crop_height = rng.chance(0.5);
  return g;
}

namespace {

int step_int(int value, int low, int high, int step, Rng& rng) {
  const int delta = step * rng.uniform_int(1, 2) * (rng.chance(0.5) ? 1 : -1);
  return std::clamp(value + delta, low, high);
}

double step_half(double value, double low, double high, double step, Rng& rng) {
  const double delta = step * rng.uniform_int(1, 2) * (rng.chance(0.5) ? 1 : -1);
  return snap(std::clamp(value + delta, low, high), step);
}

int other_choice(int value, int count, Rng& rng) {
  if (count <= 1) return value;
  const int pick = rng.uniform_int(0, count - 2);
  return pick >= value ? pick + 1 : pick;
}

void mutate_gene(Genome& g, int gene, const SearchSpace& space, Rng& rng) {
  switch (gene) {
    case 0: {
      // dpi moves on a log scale, by 2^(0.05..0.5) up or down (3.5% to 41%): low and high dpi
      // explore alike, and two or three steps cross a factor of two.
      const double octaves = (0.05 + 0.45 * rng.uniform()) * (rng.chance(0.5) ? 1 : -1);
      int dpi = static_cast<int>(std::lround(g.dpi * std::exp2(octaves)));
      if (dpi == g.dpi) dpi += octaves > 0 ? 1 : -1;
      g.dpi = std::clamp(dpi, kDpiMin, kDpiMax);
      break;
    }
    case 1:
      g.page_size = other_choice(g.page_size, static_cast<int>(page_sizes().size()), rng);
      break;
    case 2: g.font = other_choice(g.font, static_cast<int>(space.fonts.size()), rng); break;
    case 3: g.font_size_pt = step_half(g.font_size_pt, kSizeMin, kSizeMax, kHalf, rng); break;
    case 4: g.line_gap_pt = step_half(g.line_gap_pt, 0, kGapMax, kHalf, rng); break;
    case 5:
      g.alignment = static_cast<Alignment>(other_choice(static_cast<int>(g.alignment), 4, rng));
      break;
    case 6: g.margin_x_pt = step_int(g.margin_x_pt, kMarginMin, kMarginMax, 3, rng); break;
    case 7: g.margin_y_pt = step_int(g.margin_y_pt, kMarginMin, kMarginMax, 3, rng); break;
    case 8:
      g.first_line_indent_pt = step_int(g.first_line_indent_pt, 0, kFirstIndentMax, 4, rng);
      break;
    case 9: g.left_indent_pt = step_int(g.left_indent_pt, 0, kIndentMax, 2, rng); break;
    case 10: g.right_indent_pt = step_int(g.right_indent_pt, 0, kIndentMax, 2, rng); break;
    case 11: g.space_before_pt = step_int(g.space_before_pt, 0, kSpaceMax, 1, rng); break;
    case 12: g.space_after_pt = step_int(g.space_after_pt, 0, kSpaceMax, 1, rng); break;
    case 13:
      g.horizontal_scale = step_half(g.horizontal_scale, kScaleMin, 1.0, kScaleStep, rng);
      break;
    case 14: g.palette = other_choice(g.palette, static_cast<int>(palettes().size()), rng); break;
    case 15: g.newline_marker = !g.newline_marker; break;
    default: {
      const int which = rng.uniform_int(0, 2);
      if (which == 0) g.auto_crop_width = !g.auto_crop_width;
      if (which == 1) g.auto_crop_last_page = !g.auto_crop_last_page;
      if (which == 2) g.auto_crop_height = !g.auto_crop_height;
      break;
    }
  }
}

// A gene drawn afresh over its whole range (dpi log-uniform over 45..300, so that every octave
// is as likely), whatever its value: the jump a step-by-step walk would take generations to make.
void reset_gene(Genome& g, int gene, const SearchSpace& space, Rng& rng) {
  if (gene == 0) {
    const double dpi = kDpiMin * std::pow(static_cast<double>(kDpiMax) / kDpiMin, rng.uniform());
    g.dpi = std::clamp(static_cast<int>(std::lround(dpi)), kDpiMin, kDpiMax);
    return;
  }
  const Genome fresh = random_genome(space, rng);
  switch (gene) {
    case 1: g.page_size = fresh.page_size; break;
    case 2: g.font = fresh.font; break;
    case 3: g.font_size_pt = fresh.font_size_pt; break;
    case 4: g.line_gap_pt = fresh.line_gap_pt; break;
    case 5: g.alignment = fresh.alignment; break;
    case 6: g.margin_x_pt = fresh.margin_x_pt; break;
    case 7: g.margin_y_pt = fresh.margin_y_pt; break;
    case 8: g.first_line_indent_pt = fresh.first_line_indent_pt; break;
    case 9: g.left_indent_pt = fresh.left_indent_pt; break;
    case 10: g.right_indent_pt = fresh.right_indent_pt; break;
    case 11: g.space_before_pt = fresh.space_before_pt; break;
    case 12: g.space_after_pt = fresh.space_after_pt; break;
    case 13: g.horizontal_scale = fresh.horizontal_scale; break;
    case 14: g.palette = fresh.palette; break;
    case 15: g.newline_marker = fresh.newline_marker; break;
    default:
      g.auto_crop_width = fresh.auto_crop_width;
      g.auto_crop_last_page = fresh.auto_crop_last_page;
      g.auto_crop_height = fresh.auto_crop_height;
      break;
  }
}

}  // namespace

Genome mutate(const Genome& genome, const SearchSpace& space, Rng& rng, double rate) {
  Genome g = genome;
  bool changed = false;
  for (int gene = 0; gene < kGenes; ++gene) {
    if (rng.chance(rate)) {
      if (rng.chance(kResetRate))
        reset_gene(g, gene, space, rng);
      else
        mutate_gene(g, gene, space, rng);
      changed = changed || !(g == genome);
    }
  }
  // At least one change (a step clamped at a bound may change nothing: try other genes).
  for (int attempt = 0; attempt < 16 && !changed; ++attempt) {
    mutate_gene(g, rng.uniform_int(0, kGenes - 1), space, rng);
    changed = !(g == genome);
  }
  return g;
}

std::vector<Genome> dpi_ladder(const Genome& preset, int count) {
  std::vector<Genome> ladder;
  for (const double factor : {4.0 / 3, 5.0 / 3, 2.0 / 3, 2.0, 0.5}) {
    if (static_cast<int>(ladder.size()) >= count) break;
    Genome g = preset;
    g.dpi = std::clamp(static_cast<int>(std::lround(preset.dpi * factor)), kDpiMin, kDpiMax);
    const bool repeated =
        g.dpi == preset.dpi || std::any_of(ladder.begin(), ladder.end(),
                                           [&](const Genome& other) { return other.dpi == g.dpi; });
    if (!repeated) ladder.push_back(g);
  }
  return ladder;
}

Genome crossover(const Genome& a, const Genome& b, Rng& rng) {
  Genome g = a;
  auto pick = [&](auto member) {
    if (rng.chance(0.5)) g.*member = b.*member;
  };
  pick(&Genome::dpi);
  pick(&Genome::page_size);
  pick(&Genome::font);
  if (rng.chance(0.5)) {  // size and leading are one trait
    g.font_size_pt = b.font_size_pt;
    g.line_gap_pt = b.line_gap_pt;
  }
  pick(&Genome::alignment);
  pick(&Genome::margin_x_pt);
  pick(&Genome::margin_y_pt);
  pick(&Genome::first_line_indent_pt);
  pick(&Genome::left_indent_pt);
  pick(&Genome::right_indent_pt);
  pick(&Genome::space_before_pt);
  pick(&Genome::space_after_pt);
  pick(&Genome::horizontal_scale);
  pick(&Genome::palette);
  pick(&Genome::newline_marker);
  pick(&Genome::auto_crop_width);
  pick(&Genome::auto_crop_last_page);
  pick(&Genome::auto_crop_height);
  return g;
}

namespace {

json genome_json(const Genome& g, const SearchSpace& space) {
  const PageSize& page = page_sizes().at(static_cast<size_t>(g.page_size));
  const Palette& palette = palettes().at(static_cast<size_t>(g.palette));
  auto num = [](double v) { return json(std::round(v * 1000) / 1000); };
  json j;
  j["dpi"] = g.dpi;
  j["page-size"] = num(page.width_pt).dump() + "," + num(page.height_pt).dump();
  j["font-path"] = space.fonts.at(static_cast<size_t>(g.font)).path;
  j["font-size"] = num(g.font_size_pt);
  j["line-height"] = num(g.font_size_pt + g.line_gap_pt);
  j["alignment"] = kAlignments[static_cast<int>(g.alignment)];
  j["margin-x"] = g.margin_x_pt;
  j["margin-y"] = g.margin_y_pt;
  j["first-line-indent"] = g.first_line_indent_pt;
  j["left-indent"] = g.left_indent_pt;
  j["right-indent"] = g.right_indent_pt;
  j["space-before"] = g.space_before_pt;
  j["space-after"] = g.space_after_pt;
  j["horizontal-scale"] = num(g.horizontal_scale);
  j["font-color"] = to_hex(palette.font);
  j["page-bg-color"] = to_hex(palette.background);
  j["newline-markup"] = g.newline_marker ? kNewlineMarker : "<br/>";
  j["auto-crop-width"] = g.auto_crop_width;
  j["auto-crop-last-page"] = g.auto_crop_last_page;
  j["auto-crop-height"] = g.auto_crop_height;
  return j;
}

}  // namespace

std::string genome_key(const Genome& genome, const SearchSpace& space) {
  return genome_json(genome, space).dump();
}

RenderConfig to_config(const Genome& genome, const SearchSpace& space) {
  json j = json::parse(config_to_json(space.base));
  const json genes = genome_json(genome, space);
  for (auto it = genes.begin(); it != genes.end(); ++it) j[it.key()] = it.value();
  const Palette& palette = palettes().at(static_cast<size_t>(genome.palette));
  j["para-bg-color"] = to_hex(palette.background);
  j["para-border-color"] = to_hex(palette.background);
  j["border-width"] = 0;
  return parse_config_json(j.dump(), "", nullptr, "search config");
}

Genome genome_from_config(const RenderConfig& c, const SearchSpace& space) {
  Genome g;
  g.dpi = std::clamp(static_cast<int>(std::lround(c.dpi)), kDpiMin, kDpiMax);
  g.page_size = 0;
  double best = 1e18;
  for (size_t i = 0; i < page_sizes().size(); ++i) {
    const double d = std::abs(page_sizes()[i].width_pt - c.page_width_pt) +
                     std::abs(page_sizes()[i].height_pt - c.page_height_pt);
    if (d < best) {
      best = d;
      g.page_size = static_cast<int>(i);
    }
  }
  g.font = -1;
  for (size_t i = 0; i < space.fonts.size(); ++i)
    if (space.fonts[i].path == c.font_path) g.font = static_cast<int>(i);
  if (g.font < 0)
    throw Error(ErrorCode::invalid_argument,
                "search: the font " + c.font_path + " is not in the search space");
  g.font_size_pt = snap(std::clamp(c.font_size_pt, kSizeMin, kSizeMax), kHalf);
  g.line_gap_pt = snap(std::clamp(c.line_height_pt - c.font_size_pt, 0.0, kGapMax), kHalf);
  g.alignment = c.alignment;
  auto whole = [](double v, int low, int high) {
    return std::clamp(static_cast<int>(std::lround(v)), low, high);
  };
  g.margin_x_pt = whole(c.margin_x_pt, kMarginMin, kMarginMax);
  g.margin_y_pt = whole(c.margin_y_pt, kMarginMin, kMarginMax);
  g.first_line_indent_pt = whole(c.first_line_indent_pt, 0, kFirstIndentMax);
  g.left_indent_pt = whole(c.left_indent_pt, 0, kIndentMax);
  g.right_indent_pt = whole(c.right_indent_pt, 0, kIndentMax);
  g.space_before_pt = whole(c.space_before_pt, 0, kSpaceMax);
  g.space_after_pt = whole(c.space_after_pt, 0, kSpaceMax);
  g.horizontal_scale = snap(std::clamp(c.horizontal_scale, kScaleMin, 1.0), kScaleStep);
  g.palette = 0;
  for (size_t i = 0; i < palettes().size(); ++i)
    if (palettes()[i].font == c.font_color && palettes()[i].background == c.page_bg_color)
      g.palette = static_cast<int>(i);
  g.newline_marker = !c.newline.line_break;
  g.auto_crop_width = c.auto_crop_width;
  g.auto_crop_last_page = c.auto_crop_last_page;
  g.auto_crop_height = c.auto_crop_height;
  return g;
}

std::optional<Genome> genome_from_proposal(const std::string& text, const Genome& fallback,
                                           const SearchSpace& space, std::string* why) {
  auto fail = [&](const std::string& message) -> std::optional<Genome> {
    if (why) *why = message;
    return std::nullopt;
  };
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  Genome g = fallback;
  auto number = [&](const char* key, double& out) -> bool {
    if (!j.contains(key)) return true;
    if (!j[key].is_number()) return false;
    out = j[key].get<double>();
    return std::isfinite(out);
  };
  auto whole = [&](const char* key, int& out) -> bool {
    double v = out;
    if (!number(key, v) || std::abs(v - std::round(v)) > 1e-9 || std::abs(v) > 1e6) return false;
    out = static_cast<int>(std::lround(v));
    return true;
  };
  auto flag = [&](const char* key, bool& out) -> bool {
    if (!j.contains(key)) return true;
    if (!j[key].is_boolean()) return false;
    out = j[key].get<bool>();
    return true;
  };
  for (const char* key : {"dpi", "margin-x", "margin-y", "first-line-indent", "left-indent",
                          "right-indent", "space-before", "space-after"}) {
    int* target = nullptr;
    const std::string k = key;
    if (k == "dpi") target = &g.dpi;
    if (k == "margin-x") target = &g.margin_x_pt;
    if (k == "margin-y") target = &g.margin_y_pt;
    if (k == "first-line-indent") target = &g.first_line_indent_pt;
    if (k == "left-indent") target = &g.left_indent_pt;
    if (k == "right-indent") target = &g.right_indent_pt;
    if (k == "space-before") target = &g.space_before_pt;
    if (k == "space-after") target = &g.space_after_pt;
    if (!whole(key, *target)) return fail(std::string("\"") + key + "\" is not a whole number");
  }
  double line_height = fallback.font_size_pt + fallback.line_gap_pt;
  if (!number("font-size", g.font_size_pt)) return fail("\"font-size\" is not a number");
  if (!j.contains("line-height")) line_height = g.font_size_pt + fallback.line_gap_pt;
  if (!number("line-height", line_height)) return fail("\"line-height\" is not a number");
  g.line_gap_pt = line_height - g.font_size_pt;
  if (!number("horizontal-scale", g.horizontal_scale))
    return fail("\"horizontal-scale\" is not a number");
  for (const char* key : {"newline-markup"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_string()) return fail("\"newline-markup\" is not a string");
    const std::string markup = j[key].get<std::string>();
    if (markup == "<br/>")
      g.newline_marker = false;
    else if (markup == kNewlineMarker)
      g.newline_marker = true;
    else
      return fail("\"newline-markup\" is neither <br/> nor the red \\n marker");
  }
  if (!flag("auto-crop-width", g.auto_crop_width) ||
      !flag("auto-crop-last-page", g.auto_crop_last_page) ||
      !flag("auto-crop-height", g.auto_crop_height))
    return fail("an auto-crop key is not true or false");
  if (j.contains("alignment")) {
    if (!j["alignment"].is_string()) return fail("\"alignment\" is not a string");
    const std::string name = j["alignment"].get<std::string>();
    const auto* end = std::end(kAlignments);
    const auto* found =
        std::find_if(std::begin(kAlignments), end, [&](const char* a) { return name == a; });
    if (found == end) return fail("\"alignment\" is not LEFT, CENTER, RIGHT or JUSTIFY");
    g.alignment = static_cast<Alignment>(found - std::begin(kAlignments));
  }
  if (j.contains("font-path")) {
    if (!j["font-path"].is_string()) return fail("\"font-path\" is not a string");
    const std::string path = j["font-path"].get<std::string>();
    g.font = -1;
    for (size_t i = 0; i < space.fonts.size(); ++i)
      if (space.fonts[i].path == path || space.fonts[i].name == path) g.font = static_cast<int>(i);
    if (g.font < 0) return fail("\"font-path\" " + path + " is not one of the search's fonts");
  }
  if (j.contains("page-size")) {
    if (!j["page-size"].is_string()) return fail("\"page-size\" is not \"W,H\"");
    const std::string size = j["page-size"].get<std::string>();
    g.page_size = -1;
    for (size_t i = 0; i < page_sizes().size(); ++i) {
      const json p = genome_json(Genome{.page_size = static_cast<int>(i)}, space)["page-size"];
      if (p.get<std::string>() == size) g.page_size = static_cast<int>(i);
    }
    if (g.page_size < 0) return fail("\"page-size\" " + size + " is not one of the search's sizes");
  }
  if (j.contains("font-color") || j.contains("page-bg-color")) {
    if ((j.contains("font-color") && !j["font-color"].is_string()) ||
        (j.contains("page-bg-color") && !j["page-bg-color"].is_string()))
      return fail("a colour is not \"#RRGGBB\"");
    const Palette& current = palettes().at(static_cast<size_t>(fallback.palette));
    const std::string font = j.value("font-color", to_hex(current.font));
    const std::string background = j.value("page-bg-color", to_hex(current.background));
    g.palette = -1;
    for (size_t i = 0; i < palettes().size(); ++i)
      if (to_hex(palettes()[i].font) == font && to_hex(palettes()[i].background) == background)
        g.palette = static_cast<int>(i);
    if (g.palette < 0)
      return fail("the colours " + font + " on " + background + " are not a palette");
  }
  if (!is_valid(g, space)) return fail("a value is outside the search space's bounds");
  // On the grid within rounding: stored exactly on it, so that equal configs compare equal.
  g.font_size_pt = snap(g.font_size_pt, kHalf);
  g.line_gap_pt = snap(g.line_gap_pt, kHalf);
  g.horizontal_scale = snap(g.horizontal_scale, kScaleStep);
  return g;
}

Input make_input(std::string name, Document document) {
  Input input;
  input.name = std::move(name);
  input.id = sha256_hex(document.text).substr(0, 16);
  input.document = std::move(document);
  return input;
}

}  // namespace glyph::search
