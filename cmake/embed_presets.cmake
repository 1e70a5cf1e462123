# Turns configs/<name>.json (en, zh, lines, code, json, table) into a C++ source holding their
# text: the built-in presets, so that the files in configs/ stay the only copy. Run as a script:
#   cmake -DCONFIG_DIR=... -DOUTPUT=... -P embed_presets.cmake
cmake_policy(VERSION 3.25)
set(GLYPH_PRESET_NAMES en zh lines code json table)
set(GLYPH_PRESET_ENTRIES "")
foreach(name IN LISTS GLYPH_PRESET_NAMES)
  file(READ ${CONFIG_DIR}/${name}.json text)
  string(APPEND GLYPH_PRESET_ENTRIES "    {\"${name}\", R\"glyph-preset(${text})glyph-preset\"},\n")
endforeach()
file(CONFIGURE OUTPUT ${OUTPUT} @ONLY CONTENT
"// Generated from configs/*.json by cmake/embed_presets.cmake. Do not edit.
#include <cstddef>
namespace glyph::detail {
struct EmbeddedPreset {
  const char* name;
  const char* json;
};
extern const EmbeddedPreset kPresets[];
extern const std::size_t kPresetCount;
const EmbeddedPreset kPresets[] = {
@GLYPH_PRESET_ENTRIES@};
const std::size_t kPresetCount = sizeof(kPresets) / sizeof(kPresets[0]);
}  // namespace glyph::detail
")
