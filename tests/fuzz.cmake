# Short libFuzzer runs of the fuzz targets, only in a -DGLYPH_BUILD_FUZZ=ON (clang) build.
if(GLYPH_BUILD_FUZZ AND TARGET layout_fuzz)
  add_test(NAME layout_fuzz_short
    COMMAND layout_fuzz -max_total_time=20 -timeout=10 -rss_limit_mb=2048 -max_len=20000
            ${PROJECT_SOURCE_DIR}/fuzz/corpus/layout)
  set_tests_properties(layout_fuzz_short PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
