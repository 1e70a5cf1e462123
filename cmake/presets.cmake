# The built-in presets, generated from configs/*.json at build time (embed_presets.cmake).
set(GLYPH_PRESETS_SOURCE ${PROJECT_BINARY_DIR}/generated/presets.cc)
add_custom_command(
  OUTPUT ${GLYPH_PRESETS_SOURCE}
  COMMAND ${CMAKE_COMMAND} -DCONFIG_DIR=${PROJECT_SOURCE_DIR}/configs -DOUTPUT=${GLYPH_PRESETS_SOURCE}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_presets.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/configs/en.json ${PROJECT_SOURCE_DIR}/configs/zh.json
          ${PROJECT_SOURCE_DIR}/configs/lines.json ${PROJECT_SOURCE_DIR}/configs/code.json
          ${PROJECT_SOURCE_DIR}/configs/json.json ${PROJECT_SOURCE_DIR}/configs/table.json
          ${PROJECT_SOURCE_DIR}/cmake/embed_presets.cmake
  COMMENT "Embedding the presets"
  VERBATIM)
target_sources(glyph_core PRIVATE ${GLYPH_PRESETS_SOURCE})
