# A short libFuzzer run of each fuzz target: the ingest parsers, the layout, the SSE decoder
# (scripts/fuzz_smoke.sh). Needs clang; skipped in the sanitizer build, which already replays the
# ingest corpora (tests/ingest_fuzz_replay_test.cc).
find_program(GLYPH_CLANGXX clang++)
if(GLYPH_CLANGXX AND NOT GLYPH_SANITIZE AND NOT GLYPH_BUILD_FUZZ)
  add_test(NAME fuzz_smoke
           COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/fuzz_smoke.sh ${PROJECT_BINARY_DIR}/fuzz-smoke 10)
  set_tests_properties(fuzz_smoke PROPERTIES LABELS integration TIMEOUT 900)
endif()
