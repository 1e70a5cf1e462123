// RenderConfig: the Glyph JSON rendering config (every key of the official release, same meaning
// and defaults as the reference renderer) plus this project's extensions.
//
// Keys and units are documented in docs/config.md. Lengths are points (1/72 inch). Loading never
// opens the font files: a config naming a font that is absent loads, and the error (naming the
// path) comes when a FontSet opens it. Invalid values throw Error(invalid_config) naming the key
// and the value; unknown keys are reported as warnings, never errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool is_gray() const { return r == g && g == b; }
  bool operator==(const Rgb&) const = default;
};

// "#RRGGBB" → Rgb; throws Error(invalid_config) naming `key` on anything else.
Rgb parse_color(std::string_view text, std::string_view key);
std::string to_hex(Rgb color);  // "#RRGGBB"

enum class Alignment { left, center, right, justify };
enum class WrapMode {
  reportlab,
  unicode
};  // reportlab: the reference's breaking; unicode: UAX #14
enum class PageMarkers { none, header, footer };  // page number and character range of the page
enum class ColorMode { automatic, gray, rgb };    // automatic: gray when every color is gray
enum class Normalization { none, nfc, nfkc };
// The advance of a character the main font lacks: the main font's .notdef advance, as ReportLab
// measures it (lines break as in the reference; the fallback glyph is centered in it, narrowed if
// wider), or the fallback glyph's own advance.
enum class FallbackMetrics { reference, natural };
// What the reflow stage (src/reflow, docs/reflow.md) does with the document's line structure:
// off (the text as given, the Glyph release's behaviour), automatic ("auto": joins what it detects
// as hard-wrapped, packs short lines where that saves rendered lines, flows PDF pages) or on (as
// auto, and also joins every line of a prose paragraph and packs every run of kept lines).
enum class ReflowMode { off, automatic, on };
// "off" / "auto" / "on" → ReflowMode; throws Error(invalid_argument) naming `what` otherwise.
ReflowMode parse_reflow_mode(std::string_view name, std::string_view what = "--reflow");
std::string_view reflow_mode_name(ReflowMode mode);  // "off", "auto", "on"

// How a newline of the text is drawn, decoded from the "newline-markup" key.
struct NewlineStyle {
  bool line_break = true;       // "<br/>": a newline ends the line
  std::u32string inline_text;   // otherwise: text drawn in the running line instead of breaking
  Rgb inline_color{255, 0, 0};  // its color (the <font color="..."> of the markup)
};

// A font file and, for a collection (.ttc), the face index: "path" or "path#N".
struct FontFileRef {
  std::string path;
  int face_index = 0;
};
FontFileRef parse_font_ref(std::string_view spec);

struct RenderConfig {
  // Official Glyph keys. Defaults are the reference renderer's when the key is absent.
  double page_width_pt = 595, page_height_pt = 842;  // page-size "W,H"
  double dpi = 72;
  double margin_x_pt = 20, margin_y_pt = 20;
  std::string font_path;  // absolute once loaded; may carry "#N"
  double font_size_pt = 9;
  double line_height_pt = 10;  // leading; font-size + 1 when absent
  Rgb font_color{0, 0, 0};
  Rgb page_bg_color{255, 255, 255};
  Rgb para_bg_color{255, 255, 255};
  Rgb para_border_color{255, 255, 255};
  Alignment alignment = Alignment::justify;  // an unknown value also means JUSTIFY
  double first_line_indent_pt = 0, left_indent_pt = 0, right_indent_pt = 0;
  double space_before_pt = 0, space_after_pt = 0;
  double border_width_pt = 0, border_padding_pt = 0;
  double horizontal_scale = 1.0;
  bool auto_crop_width = false;
  bool auto_crop_last_page = false;
  std::string newline_markup = "<br/>";
  NewlineStyle newline;  // newline_markup decoded

  // Extensions.
  std::vector<std::string> fallback_fonts;  // tried in order for characters the main font lacks
  FallbackMetrics fallback_metrics = FallbackMetrics::reference;
  WrapMode wrap = WrapMode::reportlab;
  bool antialias = true;
  PageMarkers page_markers = PageMarkers::none;
  ColorMode color_mode = ColorMode::automatic;
  int max_text_tokens_per_page = 0;              // 0 = no cap
  Normalization normalize = Normalization::nfc;  // "normalize": nfc (default), nfkc, none
  // "auto-crop-height": crop every page a break leaves short (room for another line below its
  // last line) below its last content row + margin-y, as auto-crop-last-page does the last page.
  bool auto_crop_height = false;
  // "reflow": off when absent (a Glyph config renders as the reference does); the built-in
  // presets (preset_config, config_for_text) set auto.
  ReflowMode reflow = ReflowMode::off;
  // "line-numbers": each source line drawn after its number ("  12  "), for code.
  bool line_numbers = false;

  // True when the output may be 8-bit gray (color_mode, or automatic and every color gray).
  bool gray_output() const;
};

// Reads and parses a config file; relative font paths are resolved against its folder.
// Throws Error(not_found|io) naming the path, Error(invalid_config) naming the key and value.
RenderConfig load_config(const std::string& path, std::vector<std::string>* warnings = nullptr);
// Parses config JSON; `base_dir` resolves relative font paths. `source` names the text in errors.
RenderConfig parse_config_json(std::string_view json_text, const std::string& base_dir,
                               std::vector<std::string>* warnings = nullptr,
                               std::string_view source = "config");
// The built-in presets, the same as configs/<name>.json, embedded so that the binary works from
// any folder: "en" (DejaVu Sans) and "zh" (Noto Sans CJK SC) with "reflow": "auto" (the files
// leave it off, so that `-c configs/en.json` still renders as the reference renderer does);
// "lines" (en with every newline drawn as Glyph's red newline-markup ` \n `), "code", "json"
// and "table" (DejaVu Sans Mono, every line break a line break), all four with reflow off.
// Throws Error(invalid_argument) on other names.
RenderConfig preset_config(std::string_view name);
const std::vector<std::string_view>& preset_names();  // en, zh, lines, code, json, table
bool is_preset_name(std::string_view name);
// The config without -c: the preset of the text's script, "zh" when it has a CJK ideograph
// U+4E00..U+9FFF (as the Glyph demo), else "en" (whose reflow packs short lines, code and tables
// with newline markers: more compression than the content presets, measured in docs/config.md).
RenderConfig config_for_text(std::u32string_view text);
// The preset that fits the text's content, as a suggestion (`glyph text -v`): "zh" as above;
// else "json" for a JSON document or JSON Lines; "table" for rows of pipes, box drawing, tabs or
// commas; "code" for source code; "lines" for many short lines; else "en".
std::string_view preset_name_for_text(std::u32string_view text);
// The Glyph release's own choice, by script only: "zh" with a CJK ideograph, else "en" (what the
// evaluation reproduces).
std::string_view script_preset_name(std::u32string_view text);
// The config as Glyph JSON (official keys first, then extensions), loadable again.
std::string config_to_json(const RenderConfig& config);

// The default fallback chain: those of DejaVu Sans, Noto Sans CJK SC, Droid Sans Fallback that
// exist on this machine.
std::vector<std::string> default_fallback_fonts();

}  // namespace glyph
