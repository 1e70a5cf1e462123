#include "config/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"

namespace glyph {
namespace detail {
// The presets: the bytes of configs/<name>.json (cmake/embed_presets.cmake).
struct EmbeddedPreset {
  const char* name;
  const char* json;
};
extern const EmbeddedPreset kPresets[];
extern const std::size_t kPresetCount;
}  // namespace detail

namespace {

using nlohmann::json;

constexpr const char* kDejaVuSans = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
constexpr const char* kNotoSansCjkSc = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2";
constexpr const char* kDroidSansFallback =
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";

std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

class Reader {
 public:
  Reader(std::string_view source, const json& object) : source_(source), object_(object) {}

  [[noreturn]] void fail(std::string_view key, std::string_view expected, const json& value) const {
    throw Error(ErrorCode::invalid_config, std::string(source_) + ": key \"" + std::string(key) +
                                               "\": expected " + std::string(expected) + ", got " +
                                               shown(value));
  }

  const json* find(std::string_view key) const {
    auto it = object_.find(std::string(key));
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  double number(std::string_view key, double fallback, double min, bool min_exclusive) const {
    const json* value = find(key);
    if (!value) return fallback;
    const char* expected = min_exclusive ? "a positive number" : "a number >= 0";
    if (!value->is_number()) fail(key, expected, *value);
    double x = value->get<double>();
    if (!std::isfinite(x) || x < min || (min_exclusive && x <= min) || x > 1e6)
      fail(key, expected, *value);
    return x;
  }

  double signed_number(std::string_view key, double fallback) const {
    const json* value = find(key);
    if (!value) return fallback;
    if (!value->is_number()) fail(key, "a number", *value);
    double x = value->get<double>();
    if (!std::isfinite(x) || std::abs(x) > 1e6) fail(key, "a number", *value);
    return x;
  }

  bool boolean(std::string_view key, bool fallback) const {
    const json* value = find(key);
    if (!value) return fallback;
    if (value->is_boolean()) return value->get<bool>();
    if (value->is_number_integer() && (value->get<int64_t>() == 0 || value->get<int64_t>() == 1))
      return value->get<int64_t>() == 1;
    fail(key, "true or false", *value);
  }

  std::string string(std::string_view key, std::string fallback) const {
    const json* value = find(key);
    if (!value) return fallback;
    if (!value->is_string()) fail(key, "a string", *value);
    return value->get<std::string>();
  }

  Rgb color(std::string_view key, Rgb fallback) const {
    const json* value = find(key);
    if (!value) return fallback;
    if (!value->is_string()) fail(key, "a color \"#RRGGBB\"", *value);
    return parse_color(value->get<std::string>(),
                       std::string(source_) + ": key \"" + std::string(key) + "\"");
  }

  template <typename Enum, size_t N>
  Enum choice(std::string_view key, Enum fallback,
              const std::pair<const char*, Enum> (&options)[N]) const {
    const json* value = find(key);
    if (!value) return fallback;
    std::string expected = "one of";
    for (const auto& [name, e] : options) expected += std::string(" \"") + name + "\"";
    if (!value->is_string()) fail(key, expected, *value);
    const std::string text = value->get<std::string>();
    for (const auto& [name, e] : options)
      if (text == name) return e;
    fail(key, expected, *value);
  }

 private:
  std::string_view source_;
  const json& object_;
};

constexpr const char* kOfficialKeys[] = {"page-size",         "dpi",
                                         "margin-x",          "margin-y",
                                         "font-path",         "font-size",
                                         "line-height",       "font-color",
                                         "page-bg-color",     "para-bg-color",
                                         "para-border-color", "alignment",
                                         "first-line-indent", "left-indent",
                                         "right-indent",      "space-before",
                                         "space-after",       "border-width",
                                         "border-padding",    "horizontal-scale",
                                         "auto-crop-width",   "auto-crop-last-page",
                                         "newline-markup"};
constexpr const char* kExtensionKeys[] = {
    "fallback-fonts", "fallback-metrics",         "wrap",      "antialias",        "page-markers",
    "color-mode",     "max-text-tokens-per-page", "normalize", "auto-crop-height", "reflow",
    "line-numbers"};

std::string resolve_font_path(const std::string& spec, const std::string& base_dir) {
  FontFileRef ref = parse_font_ref(spec);
  std::filesystem::path path(ref.path);
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  std::string out = path.lexically_normal().string();
  if (ref.face_index != 0) out += "#" + std::to_string(ref.face_index);
  return out;
}

// Reads `<font color="#RRGGBB">TEXT</font>` (and the <br/> spellings) into a NewlineStyle.
NewlineStyle decode_newline_markup(const std::string& markup, std::string_view source) {
  NewlineStyle style;
  std::string compact;
  for (char c : markup)
    if (c != ' ') compact += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (compact == "<br/>" || compact == "<br>") return style;
  auto fail = [&] {
    throw Error(ErrorCode::invalid_config, std::string(source) +
                                               ": key \"newline-markup\": expected \"<br/>\" or "
                                               "\"<font color=\\\"#RRGGBB\\\">TEXT</font>\", got " +
                                               shown(json(markup)));
  };
  const std::string open = "<font color=\"";
  if (markup.rfind(open, 0) != 0) fail();
  size_t quote = markup.find('"', open.size());
  if (quote == std::string::npos || markup.compare(quote, 2, "\">") != 0) fail();
  const std::string close = "</font>";
  if (markup.size() < quote + 2 + close.size() ||
      markup.compare(markup.size() - close.size(), close.size(), close) != 0)
    fail();
  style.line_break = false;
  style.inline_color = parse_color(markup.substr(open.size(), quote - open.size()),
                                   std::string(source) + ": key \"newline-markup\"");
  std::string inner = markup.substr(quote + 2, markup.size() - close.size() - quote - 2);
  if (inner.find('<') != std::string::npos) fail();
  // XML entities the markup may use for its text.
  std::string text;
  for (size_t i = 0; i < inner.size(); ++i) {
    static const std::pair<const char*, char> entities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool matched = false;
    for (const auto& [name, ch] : entities) {
      if (inner.compare(i, std::strlen(name), name) == 0) {
        text += ch;
        i += std::strlen(name) - 1;
        matched = true;
        break;
      }
    }
    if (!matched) text += inner[i];
  }
  style.inline_text = decode_utf8(text).text;
  return style;
}

}  // namespace

Rgb parse_color(std::string_view text, std::string_view key) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  bool ok = text.size() == 7 && text[0] == '#';
  for (size_t i = 1; ok && i < 7; ++i) ok = hex(text[i]) >= 0;
  if (!ok)
    throw Error(
        ErrorCode::invalid_config,
        std::string(key) + ": expected a color \"#RRGGBB\", got " + shown(json(std::string(text))));
  auto byte = [&](size_t i) { return static_cast<uint8_t>(hex(text[i]) * 16 + hex(text[i + 1])); };
  return Rgb{byte(1), byte(3), byte(5)};
}

std::string to_hex(Rgb color) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02X%02X%02X", color.r, color.g, color.b);
  return buffer;
}

FontFileRef parse_font_ref(std::string_view spec) {
  FontFileRef ref{std::string(spec), 0};
  size_t hash = spec.rfind('#');
  if (hash != std::string_view::npos && hash + 1 < spec.size() && spec.size() - hash <= 4 &&
      std::all_of(spec.begin() + hash + 1, spec.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    ref.path = std::string(spec.substr(0, hash));
    ref.face_index = std::stoi(std::string(spec.substr(hash + 1)));
  }
  return ref;
}

bool RenderConfig::gray_output() const {
  switch (color_mode) {
    case ColorMode::gray: return true;
    case ColorMode::rgb: return false;
    case ColorMode::automatic: break;
  }
  bool gray = font_color.is_gray() && page_bg_color.is_gray() && para_bg_color.is_gray() &&
              (border_width_pt <= 0 || para_border_color.is_gray());
  if (!newline.line_break) gray = gray && newline.inline_color.is_gray();
  return gray;
}

std::vector<std::string> default_fallback_fonts() {
  std::vector<std::string> fonts;
  for (const char* spec : {kDejaVuSans, kNotoSansCjkSc, kDroidSansFallback})
    if (std::filesystem::exists(parse_font_ref(spec).path)) fonts.push_back(spec);
  return fonts;
}

RenderConfig parse_config_json(std::string_view json_text, const std::string& base_dir,
                               std::vector<std::string>* warnings, std::string_view source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::invalid_config, std::string(source) + ": not valid JSON at byte " +
                                               std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {  // a number too large for a double, ...
    throw Error(ErrorCode::invalid_config, std::string(source) + ": not valid JSON: " + e.what());
  }
  if (!root.is_object())
    throw Error(ErrorCode::invalid_config,
                std::string(source) + ": expected a JSON object, got " + shown(root));
  if (warnings) {
    for (auto it = root.begin(); it != root.end(); ++it) {
      auto known = [&](const auto& list) {
        return std::find_if(std::begin(list), std::end(list),
                            [&](const char* k) { return it.key() == k; }) != std::end(list);
      };
      if (!known(kOfficialKeys) && !known(kExtensionKeys))
        warnings->push_back(std::string(source) + ": unknown key \"" + it.key() + "\" (ignored)");
    }
  }
  Reader in(source, root);
  RenderConfig config;

  if (const json* size = in.find("page-size")) {
    double w = 0, h = 0;
    bool ok = false;
    if (size->is_string()) {
      const std::string text = size->get<std::string>();
      char* end = nullptr;
      w = std::strtod(text.c_str(), &end);
      if (end && *end == ',') {
        const char* rest = end + 1;
        h = std::strtod(rest, &end);
        while (end && *end == ' ') ++end;
        ok = end != rest && *end == '\0';
      }
    } else if (size->is_array() && size->size() == 2 && (*size)[0].is_number() &&
               (*size)[1].is_number()) {
      w = (*size)[0].get<double>();
      h = (*size)[1].get<double>();
      ok = true;
    }
    if (!ok || !std::isfinite(w) || !std::isfinite(h) || w <= 0 || h <= 0 || w > 1e5 || h > 1e5)
      in.fail("page-size", "\"WIDTH,HEIGHT\" in points, both positive", *size);
    config.page_width_pt = w;
    config.page_height_pt = h;
  }
  config.dpi = in.number("dpi", 72, 0, true);
  if (config.dpi > 2400) in.fail("dpi", "a positive number up to 2400", *in.find("dpi"));
  config.margin_x_pt = in.number("margin-x", 20, 0, false);
  config.margin_y_pt = in.number("margin-y", 20, 0, false);
  config.font_path = resolve_font_path(in.string("font-path", kDejaVuSans), base_dir);
  config.font_size_pt = in.number("font-size", 9, 0, true);
  double leading = in.number("line-height", 0, 0, false);
  config.line_height_pt = leading > 0 ? leading : config.font_size_pt + 1;  // Python's `or`
  config.font_color = in.color("font-color", {0, 0, 0});
  config.page_bg_color = in.color("page-bg-color", {255, 255, 255});
  config.para_bg_color = in.color("para-bg-color", {255, 255, 255});
  config.para_border_color = in.color("para-border-color", {255, 255, 255});
  if (const json* value = in.find("alignment")) {
    if (!value->is_string())
      in.fail("alignment", "one of \"LEFT\" \"CENTER\" \"RIGHT\" \"JUSTIFY\"", *value);
    const std::string name = value->get<std::string>();
    if (name == "LEFT")
      config.alignment = Alignment::left;
    else if (name == "CENTER")
      config.alignment = Alignment::center;
    else if (name == "RIGHT")
      config.alignment = Alignment::right;
    else if (name == "JUSTIFY")
      config.alignment = Alignment::justify;
    else {
      config.alignment = Alignment::justify;  // as the reference: an unknown name means JUSTIFY
      if (warnings)
        warnings->push_back(std::string(source) + ": key \"alignment\": unknown value " +
                            shown(*value) + " means JUSTIFY");
    }
  }
  config.first_line_indent_pt = in.signed_number("first-line-indent", 0);
  config.left_indent_pt = in.number("left-indent", 0, 0, false);
  config.right_indent_pt = in.number("right-indent", 0, 0, false);
  config.space_before_pt = in.number("space-before", 0, 0, false);
  config.space_after_pt = in.number("space-after", 0, 0, false);
  config.border_width_pt = in.number("border-width", 0, 0, false);
  config.border_padding_pt = in.number("border-padding", 0, 0, false);
  config.horizontal_scale = in.number("horizontal-scale", 1.0, 0, true);
  if (config.horizontal_scale > 16)
    in.fail("horizontal-scale", "a positive number up to 16", *in.find("horizontal-scale"));
  config.auto_crop_width = in.boolean("auto-crop-width", false);
  config.auto_crop_last_page = in.boolean("auto-crop-last-page", false);
  config.newline_markup = in.string("newline-markup", "<br/>");
  config.newline = decode_newline_markup(config.newline_markup, source);

  const double text_width = config.page_width_pt - 2 * config.margin_x_pt - 12;
  const double text_height = config.page_height_pt - 2 * config.margin_y_pt - 12;
  if (text_width <= 0 || text_height <= 0)
    throw Error(ErrorCode::invalid_config,
                std::string(source) + ": the margins (margin-x " + shown(json(config.margin_x_pt)) +
                    ", margin-y " + shown(json(config.margin_y_pt)) +
                    ") leave no room for text on a page of " + shown(json(config.page_width_pt)) +
                    "x" + shown(json(config.page_height_pt)) + " points");

  if (const json* fonts = in.find("fallback-fonts")) {
    if (!fonts->is_array()) in.fail("fallback-fonts", "an array of font file paths", *fonts);
    for (const json& font : *fonts) {
      if (!font.is_string() || font.get<std::string>().empty())
        in.fail("fallback-fonts", "an array of font file paths", *fonts);
      config.fallback_fonts.push_back(resolve_font_path(font.get<std::string>(), base_dir));
    }
  } else {
    config.fallback_fonts = default_fallback_fonts();
  }
  config.fallback_metrics =
      in.choice("fallback-metrics", FallbackMetrics::reference,
                {{"reference", FallbackMetrics::reference}, {"natural", FallbackMetrics::natural}});
  config.wrap = in.choice("wrap", WrapMode::reportlab,
                          {{"reportlab", WrapMode::reportlab}, {"unicode", WrapMode::unicode}});
  config.antialias = in.boolean("antialias", true);
  config.page_markers = in.choice("page-markers", PageMarkers::none,
                                  {{"none", PageMarkers::none},
                                   {"header", PageMarkers::header},
                                   {"footer", PageMarkers::footer}});
  config.color_mode = in.choice(
      "color-mode", ColorMode::automatic,
      {{"auto", ColorMode::automatic}, {"gray", ColorMode::gray}, {"rgb", ColorMode::rgb}});
  if (const json* cap = in.find("max-text-tokens-per-page")) {
    if (!cap->is_number_integer() || cap->get<int64_t>() < 0 || cap->get<int64_t>() > 100000000)
      in.fail("max-text-tokens-per-page", "an integer >= 0 (0 = no cap)", *cap);
    config.max_text_tokens_per_page = static_cast<int>(cap->get<int64_t>());
  }
  config.normalize = in.choice(
      "normalize", Normalization::nfc,
      {{"none", Normalization::none}, {"nfc", Normalization::nfc}, {"nfkc", Normalization::nfkc}});
  config.auto_crop_height = in.boolean("auto-crop-height", false);
  config.reflow = in.choice(
      "reflow", ReflowMode::off,
      {{"off", ReflowMode::off}, {"auto", ReflowMode::automatic}, {"on", ReflowMode::on}});
  config.line_numbers = in.boolean("line-numbers", false);
  return config;
}

ReflowMode parse_reflow_mode(std::string_view name, std::string_view what) {
  if (name == "off") return ReflowMode::off;
  if (name == "auto") return ReflowMode::automatic;
  if (name == "on") return ReflowMode::on;
  throw Error(ErrorCode::invalid_argument,
              std::string(what) + ": expected auto, on or off, got \"" + std::string(name) + "\"");
}

std::string_view reflow_mode_name(ReflowMode mode) {
  switch (mode) {
    case ReflowMode::off: return "off";
    case ReflowMode::automatic: return "auto";
    case ReflowMode::on: return "on";
  }
  return "off";
}

RenderConfig load_config(const std::string& path, std::vector<std::string>* warnings) {
  const std::string text = read_file(path);
  std::string base_dir =
      std::filesystem::absolute(std::filesystem::path(path)).parent_path().string();
  return parse_config_json(text, base_dir, warnings, path);
}

const std::vector<std::string_view>& preset_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < detail::kPresetCount; ++i) out.push_back(detail::kPresets[i].name);
    return out;
  }();
  return names;
}

bool is_preset_name(std::string_view name) {
  const auto& names = preset_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

RenderConfig preset_config(std::string_view name) {
  for (std::size_t i = 0; i < detail::kPresetCount; ++i) {
    if (name != detail::kPresets[i].name) continue;
    RenderConfig config =
        parse_config_json(detail::kPresets[i].json, "", nullptr, "preset " + std::string(name));
    // en, zh: reflow where it helps; lines, code, json, table: the text as given (their line
    // breaks are the content; lines draws each as Glyph's newline-markup).
    config.reflow = name == "en" || name == "zh" ? ReflowMode::automatic : ReflowMode::off;
    return config;
  }
  std::string expected;
  for (std::string_view known : preset_names())
    expected += std::string(expected.empty() ? "" : ", ") + "\"" + std::string(known) + "\"";
  throw Error(ErrorCode::invalid_argument,
              "unknown preset \"" + std::string(name) + "\" (expected one of " + expected + ")");
}

namespace {

// Columns of a line as a monospace terminal shows it (a tab: to the next multiple of 4; CJK 2).
std::size_t line_columns(std::u32string_view line) {
  std::size_t columns = 0;
  for (char32_t c : line) {
    if (c == U'\t')
      columns = columns / 4 * 4 + 4;
    else
      columns += (c >= 0x1100 && ((c >= 0x2E80 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
                                  (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFF60)))
                     ? 2
                     : 1;
  }
  return columns;
}

std::u32string_view trim(std::u32string_view s) {
  auto space = [](char32_t c) {
    return c == U' ' || c == U'\t' || c == U'\r' || c == U'\n' || c == 0xA0;
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with(std::u32string_view s, std::u32string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::u32string_view s, std::u32string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool parses_as_json(std::u32string_view text) {
  const std::string utf8 = encode_utf8(text);
  return json::accept(utf8);
}

// A line of source code: ends as a statement or a block does, opens with a keyword of a common
// language, or is a comment line.
bool code_line(std::u32string_view line) {
  const std::u32string_view t = trim(line);
  if (t.empty()) return false;
  const char32_t last = t.back();
  if (last == U';' || last == U'{' || last == U'}' || ends_with(t, U") {") || ends_with(t, U"):") ||
      ends_with(t, U"->") || ends_with(t, U"=>") || t == U"end" || t == U"};" || t == U"})" ||
      t == U");")
    return true;
  static constexpr std::u32string_view kOpeners[] = {
      U"#include ", U"#define ",  U"#!/",   U"//",       U"/*",       U"*/",
      U"import ",   U"from ",     U"def ",  U"class ",   U"return ",  U"if (",
      U"for (",     U"while (",   U"elif ", U"fn ",      U"pub ",     U"let ",
      U"const ",    U"var ",      U"func ", U"package ", U"public ",  U"private ",
      U"static ",   U"function ", U"try:",  U"except ",  U"switch (", U"case "};
  for (std::u32string_view opener : kOpeners)
    if (starts_with(t, opener)) return true;
  return false;
}

// A row of a table: cells between two or more pipes, or box-drawing characters.
bool pipe_or_box_row(std::u32string_view line) {
  std::size_t pipes = 0;
  for (char32_t c : line) {
    if (c == U'|') ++pipes;
    if (c >= 0x2500 && c <= 0x257F) return true;
  }
  return pipes >= 2;
}

}  // namespace

std::string_view script_preset_name(std::u32string_view text) {
  for (char32_t c : text)
    if (c >= 0x4E00 && c <= 0x9FFF) return "zh";
  return "en";
}

std::string_view preset_name_for_text(std::u32string_view text) {
  if (script_preset_name(text) == "zh") return "zh";

  std::vector<std::u32string_view> lines;  // the non-blank lines
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find(U'\n', start);
    if (end == std::u32string_view::npos) end = text.size();
    std::u32string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == U'\r') line.remove_suffix(1);
    if (!trim(line).empty()) lines.push_back(line);
    start = end + 1;
  }
  if (lines.empty()) return "en";
  const std::size_t n = lines.size();
  auto share = [n](std::size_t count) { return static_cast<double>(count) / n; };

  // JSON: the whole text one JSON object or array, or JSON Lines (an object or array a line).
  const std::u32string_view whole = trim(text);
  auto opens_json = [](std::u32string_view t) {
    return (t.front() == U'{' && t.back() == U'}') || (t.front() == U'[' && t.back() == U']');
  };
  if (whole.size() >= 2 && opens_json(whole)) {
    if (parses_as_json(whole)) return "json";
    bool every_line = n >= 2;
    for (std::size_t i = 0; every_line && i < n; ++i) {
      const std::u32string_view t = trim(lines[i]);
      every_line = t.size() >= 2 && opens_json(t) && parses_as_json(t);
    }
    if (every_line) return "json";
  }
  if (n < 3) return "en";

  // Tables: most lines are pipe or box-drawing rows, or have the same number (1+) of tabs, or
  // the same number (2+) of commas (CSV).
  std::size_t rows = 0;
  std::map<std::size_t, std::size_t> tab_counts, comma_counts;
  for (std::u32string_view line : lines) {
    if (pipe_or_box_row(line)) ++rows;
    ++tab_counts[static_cast<std::size_t>(std::count(line.begin(), line.end(), U'\t'))];
    // CSV: commas between fields, fewer spaces than commas (prose has a space after each).
    const auto commas = static_cast<std::size_t>(std::count(line.begin(), line.end(), U','));
    const auto spaces = static_cast<std::size_t>(std::count(line.begin(), line.end(), U' '));
    ++comma_counts[spaces < commas ? commas : 0];
  }
  auto modal = [](const std::map<std::size_t, std::size_t>& counts, std::size_t at_least) {
    std::size_t best = 0;
    for (const auto& [count, lines_with] : counts)
      if (count >= at_least) best = std::max(best, lines_with);
    return best;
  };
  if (share(rows) >= 0.6 || share(modal(tab_counts, 1)) >= 0.8 ||
      share(modal(comma_counts, 2)) >= 0.8)
    return "table";

  // Code: many lines that read as code, some indentation, and little prose (lines of 8 words or
  // more that are not code: a tutorial with code blocks stays en).
  std::size_t code = 0, indented = 0, prose = 0;
  for (std::u32string_view line : lines) {
    if (code_line(line)) {
      ++code;
    } else {
      std::size_t words = 0;
      bool in_word = false;
      for (char32_t c : trim(line)) {
        const bool space = c == U' ' || c == U'\t';
        words += !space && !in_word;
        in_word = !space;
      }
      if (words >= 8) ++prose;
    }
    if (line.front() == U' ' || line.front() == U'\t') ++indented;
  }
  if (n >= 5 && share(code) >= 0.4 && share(indented) >= 0.2 && share(prose) <= 0.15) return "code";

  // Many short lines (lists, verse, logs, chat): most lines fill less than half a rendered line
  // of the en preset (about 110 characters), and they are not the lines of hard-wrapped prose.
  std::vector<std::size_t> widths;
  std::size_t short_lines = 0;
  for (std::u32string_view line : lines) {
    widths.push_back(line_columns(line));
    if (widths.back() <= 55) ++short_lines;
  }
  std::nth_element(widths.begin(), widths.begin() + n / 2, widths.end());
  if (n >= 8 && widths[n / 2] <= 40 && share(short_lines) >= 0.75) return "lines";
  return "en";
}

RenderConfig config_for_text(std::u32string_view text) {
  return preset_config(script_preset_name(text));
}

std::string config_to_json(const RenderConfig& c) {
  json out = json::object();
  auto num = [](double x) {
    return x == std::floor(x) && std::abs(x) < 1e9 ? json(static_cast<int64_t>(x)) : json(x);
  };
  out["page-size"] = num(c.page_width_pt).dump() + "," + num(c.page_height_pt).dump();
  out["dpi"] = num(c.dpi);
  out["margin-x"] = num(c.margin_x_pt);
  out["margin-y"] = num(c.margin_y_pt);
  out["font-path"] = c.font_path;
  out["font-size"] = num(c.font_size_pt);
  out["line-height"] = num(c.line_height_pt);
  out["font-color"] = to_hex(c.font_color);
  out["page-bg-color"] = to_hex(c.page_bg_color);
  out["para-bg-color"] = to_hex(c.para_bg_color);
  out["para-border-color"] = to_hex(c.para_border_color);
  static const char* alignments[] = {"LEFT", "CENTER", "RIGHT", "JUSTIFY"};
  out["alignment"] = alignments[static_cast<int>(c.alignment)];
  out["first-line-indent"] = num(c.first_line_indent_pt);
  out["left-indent"] = num(c.left_indent_pt);
  out["right-indent"] = num(c.right_indent_pt);
  out["space-before"] = num(c.space_before_pt);
  out["space-after"] = num(c.space_after_pt);
  out["border-width"] = num(c.border_width_pt);
  out["border-padding"] = num(c.border_padding_pt);
  out["horizontal-scale"] = c.horizontal_scale;
  out["auto-crop-width"] = c.auto_crop_width;
  out["auto-crop-last-page"] = c.auto_crop_last_page;
  out["newline-markup"] = c.newline_markup;
  out["fallback-fonts"] = c.fallback_fonts;
  out["fallback-metrics"] =
      c.fallback_metrics == FallbackMetrics::reference ? "reference" : "natural";
  out["wrap"] = c.wrap == WrapMode::reportlab ? "reportlab" : "unicode";
  out["antialias"] = c.antialias;
  static const char* markers[] = {"none", "header", "footer"};
  out["page-markers"] = markers[static_cast<int>(c.page_markers)];
  static const char* modes[] = {"auto", "gray", "rgb"};
  out["color-mode"] = modes[static_cast<int>(c.color_mode)];
  out["max-text-tokens-per-page"] = c.max_text_tokens_per_page;
  static const char* norms[] = {"none", "nfc", "nfkc"};
  out["normalize"] = norms[static_cast<int>(c.normalize)];
  out["auto-crop-height"] = c.auto_crop_height;
  out["reflow"] = reflow_mode_name(c.reflow);
  out["line-numbers"] = c.line_numbers;
  return out.dump(2);
}

}  // namespace glyph
