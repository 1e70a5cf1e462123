#include <gtest/gtest.h>

#include "config/config.h"
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

}  // namespace
}  // namespace glyph
