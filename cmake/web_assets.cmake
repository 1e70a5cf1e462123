# The web page (web/*) embedded into the library as a generated source (see embed_web.cmake).
file(GLOB GLYPH_WEB_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/*)
set(GLYPH_WEB_SOURCE ${PROJECT_BINARY_DIR}/generated/web_assets.cc)
add_custom_command(
  OUTPUT ${GLYPH_WEB_SOURCE}
  COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${PROJECT_SOURCE_DIR}/web -DOUTPUT=${GLYPH_WEB_SOURCE}
          -P ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  DEPENDS ${GLYPH_WEB_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed_web.cmake
  COMMENT "Embedding the web page"
  VERBATIM)
target_sources(glyph PRIVATE ${GLYPH_WEB_SOURCE})
