# Turns configs/en.json and configs/zh.json into a C++ source holding their text: the built-in
# presets `en` and `zh`, so that the files in configs/ stay the only copy. Run as a script:
#   cmake -DCONFIG_DIR=... -DOUTPUT=... -P embed_presets.cmake
cmake_policy(VERSION 3.25)
file(READ ${CONFIG_DIR}/en.json GLYPH_PRESET_EN)
file(READ ${CONFIG_DIR}/zh.json GLYPH_PRESET_ZH)
file(CONFIGURE OUTPUT ${OUTPUT} @ONLY CONTENT
"// Generated from configs/en.json and configs/zh.json by cmake/embed_presets.cmake. Do not edit.
namespace glyph::detail {
extern const char* const kPresetEnJson;
extern const char* const kPresetZhJson;
const char* const kPresetEnJson = R\"glyph-preset(@GLYPH_PRESET_EN@)glyph-preset\";
const char* const kPresetZhJson = R\"glyph-preset(@GLYPH_PRESET_ZH@)glyph-preset\";
}  // namespace glyph::detail
")
