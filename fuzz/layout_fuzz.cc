// libFuzzer target: config JSON + text → layout. Input: config JSON, a NUL byte, then text bytes.
// Any glyph::Error is an accepted outcome; crashes, hangs and sanitizer reports are not.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"
#include "core/error.h"
#include "font/font.h"
#include "layout/layout.h"
#include "text/prepare.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view json =
      split == std::string_view::npos ? std::string_view("{}") : input.substr(0, split);
  const std::string_view text = split == std::string_view::npos ? input : input.substr(split + 1);
  try {
    glyph::RenderConfig config = glyph::parse_config_json(json, "/");
    // Keep the fonts to the ones installed (a fuzzed path would only test "file not found"), and
    // sizes bounded so that one input stays fast.
    config.font_path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    config.fallback_fonts = {"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"};
    if (config.font_size_pt < 1 || config.line_height_pt < 1) return 0;
    const glyph::FontSet fonts(config);
    const glyph::PreparedText prepared = glyph::prepare_text(text, config);
    const glyph::Layout layout = glyph::lay_out(prepared.text, config, fonts);
    // Invariant: contiguous character ranges covering the text.
    size_t next = 0;
    for (const auto& page : layout.pages)
      for (const auto& line : page.lines) {
        if (line.char_start != next || line.char_end < line.char_start) __builtin_trap();
        next = line.char_end;
      }
    if (next != prepared.text.size()) __builtin_trap();
  } catch (const glyph::Error&) {
  }
  return 0;
}
