# The C++ sources as clang-format writes them (.clang-format; CONTRIBUTING.md).
find_program(GLYPH_CLANG_FORMAT clang-format)
if(GLYPH_CLANG_FORMAT)
  file(GLOB_RECURSE GLYPH_FORMATTED_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/src/*.cc ${PROJECT_SOURCE_DIR}/src/*.h
    ${PROJECT_SOURCE_DIR}/tools/*.cc ${PROJECT_SOURCE_DIR}/tools/*.h
    ${PROJECT_SOURCE_DIR}/tests/*.cc ${PROJECT_SOURCE_DIR}/tests/*.h
    ${PROJECT_SOURCE_DIR}/bench/*.cc ${PROJECT_SOURCE_DIR}/fuzz/*.cc ${PROJECT_SOURCE_DIR}/fuzz/*.h
    ${PROJECT_SOURCE_DIR}/python/src/*.cc)
  add_test(NAME clang_format
           COMMAND ${GLYPH_CLANG_FORMAT} --dry-run --Werror ${GLYPH_FORMATTED_SOURCES})
  set_tests_properties(clang_format PROPERTIES LABELS unit TIMEOUT 300)
endif()
