#include "font/font.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "support/paths.h"

namespace glyph {
namespace {

constexpr const char* kDejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
constexpr const char* kNotoCjk = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#2";
constexpr const char* kDroid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";

std::string write_scratch(const std::string& name, const std::string& bytes) {
  const std::string path = test::scratch_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(font_set, fallback_font_is_opened_only_when_a_character_misses_before_it) {
  // A broken file with an OpenType signature as the fallback: text the main font covers never
  // opens it; the first character the main font lacks does, and the error names the file.
  const std::string broken =
      write_scratch("broken.otf", std::string("OTTO") + std::string(60, '\x01'));
  const FontSet fonts({kDejaVu, broken}, 9);
  EXPECT_EQ(fonts.font_count(), 2);
  EXPECT_FALSE(fonts.lookup(U'a').missing);
  EXPECT_EQ(fonts.lookup(U'a').font_index, 0);
  EXPECT_GT(fonts.string_width_pt(U"hello world"), 0);
  try {
    fonts.lookup(U'\u4E2D');
    FAIL() << "the broken fallback font was not opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_NE(std::string(e.what()).find(broken), std::string::npos) << e.what();
  }
}

TEST(font_set, a_file_without_a_font_signature_is_reported_at_construction) {
  const std::string text = write_scratch("notes.ttf", std::string(100, 'x'));
  EXPECT_THROW(FontSet({kDejaVu, text}, 9), Error);
  EXPECT_THROW(FontSet({kDejaVu, "/nonexistent/font.ttf"}, 9), Error);
  // A collection face past the collection's end.
  EXPECT_THROW(FontSet({kDejaVu, "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#99"}, 9),
               Error);
}

TEST(font_set, concurrent_first_lookups_agree_with_sequential_ones) {
  std::u32string text =
      U"The quick brown fox \u00E9\u00E0 \u00A0 \u4E2D\u6587\u5B57 \uAC00 \u0394 \U0001F600 "
      U"\U0010FFFD";
  for (char32_t c = 0x4E00; c < 0x4E00 + 400; ++c) text += c;
  const FontSet sequential({kDejaVu, kNotoCjk, kDroid}, 9);
  std::vector<CharGlyph> expected;
  for (char32_t c : text) expected.push_back(sequential.lookup(c));
  EXPECT_EQ(expected[text.find(U'\u4E2D')].font_index, 1);
  EXPECT_TRUE(expected[text.find(U'\U0010FFFD')].missing);

  const FontSet shared({kDejaVu, kNotoCjk, kDroid}, 9);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < text.size(); ++k) {
        const size_t i = t % 2 ? text.size() - 1 - k : k;  // half the threads from the end
        const CharGlyph g = shared.lookup(text[i]);
        if (g.font_index != expected[i].font_index || g.glyph_id != expected[i].glyph_id ||
            g.missing != expected[i].missing || g.width_milli_em != expected[i].width_milli_em)
          ++mismatches[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace glyph
