#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>
#include <random>

#include "config/config.h"
#include "core/utf8.h"
#include "text/prepare.h"

namespace glyph {
namespace {

const RenderConfig& config() {
  static const RenderConfig c = preset_config("en");
  return c;
}

TEST(prepare_text, keeps_ordinary_text_unchanged) {
  const PreparedText p =
      prepare_text(std::string_view("Hello, world.\nSecond  line \u00e9\u4e2d"), config());
  EXPECT_EQ(p.text, U"Hello, world.\nSecond  line \u00e9\u4e2d");
  EXPECT_EQ(p.changes(), 0u);
}

TEST(prepare_text, replaces_invalid_utf8_and_counts) {
  const PreparedText p = prepare_text(std::string_view("a\xC0\xAF"
                                                       "b\xE4\xB8"
                                                       "c\x80"),
                                      config());
  EXPECT_EQ(p.text, U"a\uFFFD\uFFFDb\uFFFDc\uFFFD");
  EXPECT_EQ(p.invalid_utf8, 4u);
  EXPECT_EQ(p.first_invalid_offset, 1u);
}

TEST(prepare_text, normalizes_line_ends) {
  const PreparedText p = prepare_text(std::string_view("a\r\nb\rc\n\u2028d"), config());
  EXPECT_EQ(p.text, U"a\nb\nc\n\nd");
  EXPECT_EQ(p.line_breaks_normalized, 3u);
}

TEST(prepare_text, expands_tabs_to_four_spaces) {
  const PreparedText p = prepare_text(std::string_view("\tx\ty"), config());
  EXPECT_EQ(p.text, U"    x    y");
  EXPECT_EQ(p.tabs_expanded, 2u);
}

TEST(prepare_text, drops_nul_and_controls_without_truncating) {
  static const char raw[] = "ab\0cd\bef\x0Bgh\x7Fij\xC2\x85kl";
  const std::string bytes(raw, sizeof raw - 1);
  const PreparedText p = prepare_text(std::string_view(bytes), config());
  EXPECT_EQ(p.text, U"abcdefghij\nkl");
  EXPECT_EQ(p.controls_dropped, 4u);
  EXPECT_EQ(p.line_breaks_normalized, 1u);
}

TEST(prepare_text, keeps_form_feed_as_page_break) {
  const PreparedText p = prepare_text(std::string_view("page one\fpage two"), config());
  EXPECT_EQ(p.text, U"page one\fpage two");
  EXPECT_EQ(p.page_breaks, 1u);
}

TEST(prepare_text, removes_soft_hyphen_and_zero_width_space_as_the_reference) {
  const PreparedText p =
      prepare_text(std::u32string_view(U"hy\u00ADphen zero\u200Bwidth \uFEFFbom\u2060"), config());
  EXPECT_EQ(p.text, U"hyphen zerowidth bom");
  EXPECT_EQ(p.invisible_removed, 4u);
}

TEST(prepare_text, makes_bidi_controls_visible) {
  const PreparedText p =
      prepare_text(std::u32string_view(U"abc\u202Edcba\u202C \u2066x\u2069"), config());
  EXPECT_EQ(p.text, U"abc<U+202E>dcba<U+202C> <U+2066>x<U+2069>");
  EXPECT_EQ(p.made_visible, 4u);
}

TEST(prepare_text, makes_tag_characters_visible_so_hidden_text_shows) {
  // "hi" spelled in tag characters after ordinary text: a hidden instruction.
  const PreparedText p = prepare_text(std::u32string_view(U"ok\U000E0068\U000E0069"), config());
  EXPECT_EQ(p.text, U"ok<U+E0068><U+E0069>");
  EXPECT_EQ(p.made_visible, 2u);
}

TEST(prepare_text, keeps_emoji_flag_tag_sequences_and_zwj) {
  const std::u32string scotland =
      U"\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F";
  const std::u32string family = U"\U0001F468\u200D\U0001F469\u200D\U0001F467";
  const PreparedText p = prepare_text(
      std::u32string_view(scotland + U" " + family + U" \U0001F1EB\U0001F1F7"), config());
  EXPECT_EQ(p.text, scotland + U" " + family + U" \U0001F1EB\U0001F1F7");
  EXPECT_EQ(p.changes(), 0u);
}

TEST(prepare_text, normalizes_when_asked) {
  RenderConfig c = config();
  c.normalize = Normalization::nfc;
  EXPECT_EQ(prepare_text(std::u32string_view(U"e\u0301"), c).text, U"\u00E9");
  c.normalize = Normalization::nfkc;
  EXPECT_EQ(prepare_text(std::u32string_view(U"\uFB01"), c).text, U"fi");
}

// prepare_text normalizes only the stretches around characters normalization may change; the
// result must equal normalizing the whole text at once.
std::u32string whole_text_normalized(std::u32string_view text, Normalization form) {
  const std::string utf8 = encode_utf8(text);
  const int options =
      UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == Normalization::nfkc ? UTF8PROC_COMPAT : 0);
  utf8proc_uint8_t* result = nullptr;
  const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                   static_cast<utf8proc_ssize_t>(utf8.size()), &result,
                                   static_cast<utf8proc_option_t>(options));
  EXPECT_GE(length, 0);
  std::u32string out =
      decode_utf8(std::string_view(reinterpret_cast<const char*>(result), length)).text;
  std::free(result);
  return out;
}

TEST(prepare_text, normalizing_stretches_equals_normalizing_the_whole_text) {
  // Letters, accents, combining marks (in and out of canonical order), precomposed letters, Han,
  // CJK compatibility ideographs, Hangul syllables and jamo, ligatures, full-width forms.
  const char32_t pool[] = {U'a',   U'e',   U'o',   U'A',   U' ',   U'.',   0x00E9, 0x00C5, 0x00A8,
                           0x00B2, 0x0301, 0x0308, 0x0323, 0x0327, 0x0344, 0x0345, 0x4E2D, 0x6587,
                           0xF900, 0xFA10, 0xAC00, 0xAC01, 0x1100, 0x1161, 0x11A8, 0x3099, 0x304B,
                           0xFB01, 0xFF21, 0x212B, 0x1E0A, 0x0B47, 0x0B3E, 0x3000, 0x2126};
  std::mt19937 random(7);
  for (Normalization form : {Normalization::nfc, Normalization::nfkc}) {
    RenderConfig c = config();
    c.normalize = form;
    for (int round = 0; round < 300; ++round) {
      std::u32string text;
      const int length = 1 + static_cast<int>(random() % 200);
      const bool sparse = round % 2 == 0;  // long plain stretches between the special characters
      for (int i = 0; i < length; ++i) {
        if (sparse && random() % 10)
          text += static_cast<char32_t>(U'a' + random() % 26);
        else
          text += pool[random() % std::size(pool)];
      }
      ASSERT_EQ(prepare_text(std::u32string_view(text), c).text, whole_text_normalized(text, form))
          << "round " << round << " form " << static_cast<int>(form);
    }
  }
}

}  // namespace
}  // namespace glyph
