# A short libFuzzer run of the SSE stream decoder, only in a -DGLYPH_BUILD_FUZZ=ON (clang) build.
# New inputs go to the build folder, never into the seed corpus of the source tree. The seeds are
# replayed in every build by sse_parser.seed_corpus_replays_cleanly.
if(GLYPH_BUILD_FUZZ)  # the target is defined after this file is read; the test names its file
  add_test(NAME sse_stream_fuzz_short
    COMMAND bash -c "mkdir -p \"$1\" && exec \"$0\" -max_total_time=20 -timeout=5 -rss_limit_mb=2048 -max_len=65536 \"$1\" \"$2\""
            $<TARGET_FILE:sse_stream_fuzz> ${PROJECT_BINARY_DIR}/fuzz-corpus/sse_stream
            ${PROJECT_SOURCE_DIR}/fuzz/corpus/sse_stream)
  set_tests_properties(sse_stream_fuzz_short PROPERTIES LABELS fuzz TIMEOUT 120)
endif()
