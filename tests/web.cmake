# The web page's browser test: the real server, Debian's Chromium, playwright-core (js/).
# Screenshots go to <build>/web-artifacts/.
find_program(GLYPH_NODE node)
if(GLYPH_NODE)
  add_test(NAME web_page_e2e
    COMMAND ${GLYPH_NODE} ${PROJECT_SOURCE_DIR}/tests/web/web_page_test.mjs
            $<TARGET_FILE:glyph_cli> ${PROJECT_SOURCE_DIR}/../shared ${PROJECT_BINARY_DIR}/web-artifacts)
  set_tests_properties(web_page_e2e PROPERTIES LABELS e2e TIMEOUT 300)
endif()
