#include "support/paths.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace glyph::test {

std::string shared_dir() {
  return GLYPH_SHARED_DIR;
}
std::string source_dir() {
  return GLYPH_SOURCE_DIR;
}
std::string binary_dir() {
  return GLYPH_BINARY_DIR;
}

std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "global";
  auto dir =
      std::filesystem::temp_directory_path() / ("glyph-test-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace glyph::test
