// Replays the fuzz seed corpora and every past crasher (fuzz/corpus/<target>/,
// fuzz/crashers/<target>/) through the code the fuzz targets run, so that the sanitizer build of
// the tests catches a regression without a fuzzing run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "../fuzz/ingest_fuzz.h"
#include "core/file.h"
#include "support/paths.h"

namespace glyph {
namespace {

size_t replay(const std::string& target,
              const std::function<void(const uint8_t*, size_t)>& one_input) {
  size_t count = 0;
  for (const char* kind : {"corpus", "crashers"}) {
    const std::filesystem::path dir =
        std::filesystem::path(test::source_dir()) / "fuzz" / kind / target;
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string bytes = read_file(entry.path().string());
      const auto start = std::chrono::steady_clock::now();
      SCOPED_TRACE(entry.path().string());
      one_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                10.0);
      ++count;
    }
  }
  return count;
}

TEST(ingest_fuzz_replay, pdf) {
  EXPECT_GE(replay("pdf_fuzz", fuzz::pdf_one_input), 3u);
}
TEST(ingest_fuzz_replay, docx) {
  EXPECT_GE(replay("docx_fuzz", fuzz::docx_one_input), 2u);
}
TEST(ingest_fuzz_replay, text_encoding) {
  EXPECT_GE(replay("text_encoding_fuzz", fuzz::text_encoding_one_input), 5u);
}

}  // namespace
}  // namespace glyph
