# The built-in presets `en` and `zh` are configs/en.json and configs/zh.json, compiled in as a
# generated source so that the files in configs/ stay the only copy. Editing them reconfigures.
set(GLYPH_PRESETS_SOURCE ${PROJECT_BINARY_DIR}/generated/presets.cc)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/configs/en.json ${PROJECT_SOURCE_DIR}/configs/zh.json)
file(READ ${PROJECT_SOURCE_DIR}/configs/en.json GLYPH_PRESET_EN)
file(READ ${PROJECT_SOURCE_DIR}/configs/zh.json GLYPH_PRESET_ZH)
file(CONFIGURE OUTPUT ${GLYPH_PRESETS_SOURCE} @ONLY CONTENT
"// Generated from configs/en.json and configs/zh.json by cmake/presets.cmake. Do not edit.
namespace glyph::detail {
extern const char* const kPresetEnJson;
extern const char* const kPresetZhJson;
const char* const kPresetEnJson = R\"glyph-preset(@GLYPH_PRESET_EN@)glyph-preset\";
const char* const kPresetZhJson = R\"glyph-preset(@GLYPH_PRESET_ZH@)glyph-preset\";
}  // namespace glyph::detail
")
target_sources(glyph_core PRIVATE ${GLYPH_PRESETS_SOURCE})
