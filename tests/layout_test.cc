#include "layout/layout.h"

#include <gtest/gtest.h>

#include <chrono>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "font/font.h"
#include "support/paths.h"
#include "text/prepare.h"

namespace glyph {
namespace {

const RenderConfig& en() {
  static const RenderConfig c = preset_config("en");
  return c;
}
const FontSet& en_fonts() {
  static const FontSet f(en());
  return f;
}

// Every character belongs to one line and one page, in order, without gaps.
void expect_contiguous(const Layout& layout, size_t size) {
  size_t next = 0, page_next = 0;
  for (const PageLayout& page : layout.pages) {
    EXPECT_EQ(page.char_start, page_next);
    for (const LineLayout& line : page.lines) {
      EXPECT_EQ(line.char_start, next);
      EXPECT_LE(line.char_start, line.char_end);
      next = line.char_end;
      for (const PlacedGlyph& g : line.glyphs) {
        EXPECT_GE(g.char_index, line.char_start);
        EXPECT_LT(g.char_index, line.char_end);
      }
    }
    page_next = page.char_end;
  }
  EXPECT_EQ(next, size);
  EXPECT_EQ(page_next, size);
}

std::u32string line_text(std::u32string_view text, const LineLayout& line) {
  std::u32string t(text.substr(line.char_start, line.char_end - line.char_start));
  while (!t.empty() && (t.back() == U' ' || t.back() == U'\n')) t.pop_back();
  return t;
}

TEST(font_set, widths_follow_reportlab) {
  // DejaVu Sans: 'a' advance 1255 units of 2048 → 612.79296875 / 1000 em.
  EXPECT_DOUBLE_EQ(en_fonts().lookup(U'a').width_milli_em, 1255 * 1000.0 / 2048);
  EXPECT_EQ(en_fonts().lookup(0xA0).width_milli_em, en_fonts().lookup(U' ').width_milli_em);
  EXPECT_NEAR(en_fonts().string_width_pt(U"aa"), 2 * 1255 * 9.0 / 2048, 1e-9);
}

TEST(font_set, fallback_chain_and_missing_characters) {
  const CharGlyph latin = en_fonts().lookup(U'A');
  EXPECT_EQ(latin.font_index, 0);
  EXPECT_FALSE(latin.missing);
  const CharGlyph han = en_fonts().lookup(U'\u4E2D');
  EXPECT_GT(han.font_index, 0) << "a CJK font must be in the default chain";
  EXPECT_FALSE(han.missing);
  const CharGlyph none = en_fonts().lookup(0x10FFFD);  // private use, in no font
  EXPECT_TRUE(none.missing);
  EXPECT_EQ(none.glyph_id, 0u);
}

TEST(font_set, missing_font_names_the_path) {
  RenderConfig c = en();
  c.font_path = "/nonexistent/Verdana.ttf";
  try {
    FontSet fonts(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/Verdana.ttf"), std::string::npos);
  }
}

TEST(layout, first_line_starts_inside_margin_and_frame_padding) {
  const std::u32string text = U"Hello world";
  const Layout layout = lay_out(text, en(), en_fonts());
  ASSERT_EQ(layout.pages.size(), 1u);
  ASSERT_EQ(layout.pages[0].lines.size(), 1u);
  const LineLayout& line = layout.pages[0].lines[0];
  EXPECT_DOUBLE_EQ(line.x0_pt, 16);            // margin 10 + frame padding 6
  EXPECT_DOUBLE_EQ(line.baseline_pt, 16 + 9);  // first baseline: top + font size
  expect_contiguous(layout, text.size());
}

TEST(layout, paragraphs_of_thirty_lines_split_across_pages) {
  std::u32string text;
  for (int i = 0; i < 200; ++i) text += U"line " + std::u32string(1, U'a' + i % 26) + U"\n";
  const Layout layout = lay_out(text, en(), en_fonts());
  // 810 points of frame / 10 points of leading: 81 lines per page. As in ReportLab, a paragraph
  // split after a line ended by <br/> continues with an empty line on the next page.
  ASSERT_EQ(layout.pages.size(), 3u);
  EXPECT_EQ(layout.pages[0].lines.size(), 81u);
  EXPECT_EQ(layout.pages[1].lines.size(), 81u);
  EXPECT_EQ(layout.pages[2].lines.size(), 40u);
  EXPECT_TRUE(layout.pages[1].lines[0].glyphs.empty());
  EXPECT_EQ(line_text(text, layout.pages[1].lines[1]), U"line d");  // source line 81 (a + 81 % 26)
  expect_contiguous(layout, text.size());
}

TEST(layout, runs_of_spaces_never_break_and_long_words_split) {
  RenderConfig c = en();
  c.page_width_pt = 200;
  const FontSet fonts(c);
  const std::u32string text = U"aaaa bbbb  cccc dddd " + std::u32string(120, U'x') + U" end";
  const Layout layout = lay_out(text, c, fonts);
  expect_contiguous(layout, text.size());
  double width = c.page_width_pt - 2 * c.margin_x_pt - 12;
  bool saw_nbsp_word = false;
  for (const LineLayout& line : layout.pages[0].lines) {
    EXPECT_LE(line.x1_pt - line.x0_pt, width * 1.05 + 1e-6);
    saw_nbsp_word =
        saw_nbsp_word || line_text(text, line).find(U"bbbb  cccc") != std::u32string::npos;
  }
  EXPECT_TRUE(saw_nbsp_word);
  EXPECT_GE(layout.pages[0].lines.size(), 4u);
}

TEST(layout, counts_characters_no_font_has) {
  const std::u32string text = U"a\U0010FFFD\U0010FFFD b";
  const Layout layout = lay_out(text, en(), en_fonts());
  EXPECT_EQ(layout.missing_glyph_chars, 2u);
  size_t notdef = 0;
  for (const PlacedGlyph& g : layout.pages[0].lines[0].glyphs) notdef += g.glyph_id == 0;
  EXPECT_EQ(notdef, 2u);  // drawn as visible boxes, not dropped
}

TEST(layout, form_feed_starts_a_new_page) {
  const std::u32string text = U"one\ftwo";
  const Layout layout = lay_out(text, en(), en_fonts());
  ASSERT_EQ(layout.pages.size(), 2u);
  EXPECT_EQ(line_text(text, layout.pages[1].lines[0]), U"two");
  expect_contiguous(layout, text.size());
}

TEST(layout, pages_a_break_leaves_short_are_cut_short_and_full_pages_are_not) {
  std::u32string text;
  for (int i = 0; i < 200; ++i) text += U"line\n";
  text += U"last of the run\fa page of its own\fend";
  const Layout layout = lay_out(text, en(), en_fonts());
  // 81 lines a page: two full pages, the run's 38 other lines ended by a form feed, one line
  // ended by a form feed, and the last page.
  ASSERT_EQ(layout.pages.size(), 5u);
  EXPECT_EQ(layout.pages[0].lines.size(), 81u);
  EXPECT_EQ(layout.pages[1].lines.size(), 81u);
  EXPECT_FALSE(layout.pages[0].cut_short);
  EXPECT_FALSE(layout.pages[1].cut_short);
  EXPECT_TRUE(layout.pages[2].cut_short);
  EXPECT_TRUE(layout.pages[3].cut_short);
  EXPECT_TRUE(layout.pages[4].cut_short);
  // A page its lines fill is not; one line short of full, it is.
  std::u32string full;
  for (int i = 0; i < 81; ++i) full += U"line\n";
  const Layout filled = lay_out(full + U"\fnext", en(), en_fonts());
  ASSERT_EQ(filled.pages.size(), 2u);
  EXPECT_EQ(filled.pages[0].lines.size(), 81u);
  EXPECT_FALSE(filled.pages[0].cut_short);
  const Layout one_short = lay_out(full.substr(5) + U"\fnext", en(), en_fonts());
  ASSERT_EQ(one_short.pages.size(), 2u);
  EXPECT_EQ(one_short.pages[0].lines.size(), 80u);
  EXPECT_TRUE(one_short.pages[0].cut_short);
}

// Found by the layout fuzz target: a text of blanks made a page without lines, so its characters
// belonged to no line.
TEST(layout, a_text_of_blanks_still_has_a_line_holding_every_character) {
  for (const std::u32string text : {U" ", U"   ", U"\n\n \n", U" \f ", U"\f", U"\n"}) {
    const Layout layout = lay_out(text, en(), en_fonts());
    ASSERT_FALSE(layout.pages.empty());
    ASSERT_FALSE(layout.pages[0].lines.empty()) << text.size();
    const LineLayout& line = layout.pages[0].lines[0];
    EXPECT_TRUE(line.glyphs.empty());
    EXPECT_GT(line.y1_pt, line.y0_pt);
    EXPECT_EQ(line.x0_pt, line.x1_pt);
    expect_contiguous(layout, text.size());
  }
  EXPECT_TRUE(lay_out(U"", en(), en_fonts()).pages.at(0).lines.empty());
}

TEST(layout, is_deterministic_for_emoji_flags_tabs_and_crlf) {
  const PreparedText p =
      prepare_text(std::string_view("\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 flags "
                                    "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\tx\r\ny"),
                   en());
  const Layout a = lay_out(p.text, en(), en_fonts());
  const Layout b = lay_out(p.text, en(), en_fonts());
  ASSERT_EQ(a.pages.size(), b.pages.size());
  ASSERT_EQ(a.pages[0].lines.size(), b.pages[0].lines.size());
  for (size_t i = 0; i < a.pages[0].lines.size(); ++i) {
    ASSERT_EQ(a.pages[0].lines[i].glyphs.size(), b.pages[0].lines[i].glyphs.size());
    for (size_t k = 0; k < a.pages[0].lines[i].glyphs.size(); ++k) {
      EXPECT_EQ(a.pages[0].lines[i].glyphs[k].glyph_id, b.pages[0].lines[i].glyphs[k].glyph_id);
      EXPECT_EQ(a.pages[0].lines[i].glyphs[k].x_pt, b.pages[0].lines[i].glyphs[k].x_pt);
    }
  }
  expect_contiguous(a, p.text.size());
}

TEST(layout, long_line_without_spaces_wraps_in_linear_time) {
  const std::u32string text(400000, U'x');
  for (WrapMode mode : {WrapMode::reportlab, WrapMode::unicode}) {
    RenderConfig c = en();
    c.wrap = mode;
    const auto start = std::chrono::steady_clock::now();
    const Layout layout = lay_out(text, c, en_fonts());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    expect_contiguous(layout, text.size());
    EXPECT_GT(layout.pages.size(), 10u);
    EXPECT_LT(seconds, 20.0);  // a quadratic split would take hours
  }
}

TEST(layout, cjk_without_spaces_wraps) {
  std::u32string text;
  for (int i = 0; i < 100000; ++i) text += static_cast<char32_t>(0x4E00 + (i * 7919) % 0x5000);
  const RenderConfig c = preset_config("zh");
  const FontSet fonts(c);
  const Layout layout = lay_out(text, c, fonts);
  EXPECT_TRUE(layout.cjk_wrap);
  expect_contiguous(layout, text.size());
  for (const PageLayout& page : layout.pages)
    for (const LineLayout& line : page.lines)
      EXPECT_LE(line.x1_pt, c.page_width_pt - c.margin_x_pt);
}

TEST(layout, ten_thousand_combining_marks_finish) {
  std::u32string text = U"a";
  text.append(10000, U'\u0301');
  text += U" b";
  for (WrapMode mode : {WrapMode::reportlab, WrapMode::unicode}) {
    RenderConfig c = en();
    c.wrap = mode;
    const FontSet fonts(c);
    const Layout layout = lay_out(text, c, fonts);
    expect_contiguous(layout, text.size());
  }
}

TEST(layout, unicode_wrap_breaks_at_uax14_opportunities) {
  RenderConfig c = en();
  c.wrap = WrapMode::unicode;
  c.page_width_pt = 120;
  const FontSet fonts(c);
  const std::u32string text = U"alpha-beta gamma delta epsilon\nzeta";
  const Layout layout = lay_out(text, c, fonts);
  expect_contiguous(layout, text.size());
  ASSERT_GE(layout.pages[0].lines.size(), 3u);
  EXPECT_EQ(line_text(text, layout.pages[0].lines.back()), U"zeta");
}

}  // namespace
}  // namespace glyph

namespace glyph {
namespace {

TEST(layout, fallback_glyph_keeps_the_reference_advance_or_its_own) {
  const std::u32string text = U"a\u4E2Db";
  const Layout reference = lay_out(text, en(), en_fonts());
  const auto& g = reference.pages[0].lines[0].glyphs;
  ASSERT_EQ(g.size(), 3u);
  const double notdef_pt =
      1229 * 9.0 / 2048;  // DejaVu Sans glyph 0 advance: ReportLab's default width
  const double a_pt = 1255 * 9.0 / 2048;
  EXPECT_NEAR(g[2].x_pt - g[0].x_pt, a_pt + notdef_pt, 1e-3);
  EXPECT_GT(g[1].font_index, 0);
  EXPECT_LT(g[1].x_scale(), 1.0f);  // a 1-em ideograph narrowed into the 0.6-em advance
  EXPECT_EQ(reference.fallback_chars, 1u);

  RenderConfig natural = en();
  natural.fallback_metrics = FallbackMetrics::natural;
  const FontSet fonts(natural);
  const Layout natural_layout = lay_out(text, natural, fonts);
  const auto& n = natural_layout.pages[0].lines[0].glyphs;
  EXPECT_NEAR(n[2].x_pt - n[0].x_pt, a_pt + 9.0, 1e-3);  // Noto Sans CJK: 1 em
  EXPECT_EQ(n[1].x_scale(), 1.0f);
}

TEST(layout, page_markers_name_page_and_char_range) {
  RenderConfig c = en();
  c.page_markers = PageMarkers::footer;
  const FontSet fonts(c);
  std::u32string text;
  for (int i = 0; i < 100; ++i) text += U"line\n";
  const Layout layout = lay_out(text, c, fonts);
  ASSERT_EQ(layout.pages.size(), 2u);
  for (const PageLayout& page : layout.pages) {
    ASSERT_FALSE(page.markers.empty());
    for (const PlacedGlyph& g : page.markers) {
      EXPECT_EQ(g.char_index, kNoChar);
      EXPECT_GT(g.y_pt, c.page_height_pt - c.margin_y_pt - 6);  // below the text frame
      EXPECT_LT(g.y_pt, c.page_height_pt);
    }
  }
}

// The layouter holds a page or two and the lines of about a page (a few pages for CJK's
// continuation window) whatever the length of the text: here single paragraphs of 1,000+ lines.
TEST(page_layouter, holds_a_bounded_number_of_pages_and_lines) {
  for (const char* name : {"case3.txt", "case2.txt"}) {
    RenderConfig c = en();
    c.page_height_pt = 200;  // 16 lines a page: (200 - 2 × 16) / 10
    const std::u32string text =
        prepare_text(read_file(test::shared_dir() + "/data/examples/" + name), c).text;
    const Layout whole = lay_out(text, c, en_fonts());
    const size_t lines_per_page = 16;
    ASSERT_EQ(whole.pages[0].lines.size(), lines_per_page);
    ASSERT_GT(whole.pages.size(), 50u);
    PageLayouter layouter(text, c, en_fonts());
    EXPECT_EQ(layouter.cjk_wrap(), whole.cjk_wrap) << name;
    size_t max_pages = 0, max_lines = 0, n = 0;
    PageLayout page;
    while (layouter.next_page(page)) {
      max_pages = std::max(max_pages, layouter.pages_held());
      max_lines = std::max(max_lines, layouter.lines_held());
      ASSERT_LT(n, whole.pages.size());
      const PageLayout& expected = whole.pages[n++];
      EXPECT_EQ(page.number, expected.number);
      EXPECT_EQ(page.char_start, expected.char_start);
      EXPECT_EQ(page.char_end, expected.char_end);
      ASSERT_EQ(page.lines.size(), expected.lines.size());
      EXPECT_EQ(page.last, n == whole.pages.size());
      EXPECT_EQ(layouter.chars_done(), page.char_end);
    }
    EXPECT_EQ(n, whole.pages.size());
    EXPECT_TRUE(layouter.done());
    EXPECT_FALSE(layouter.next_page(page));
    EXPECT_EQ(layouter.missing_glyph_chars(), whole.missing_glyph_chars);
    EXPECT_EQ(layouter.fallback_chars(), whole.fallback_chars);
    EXPECT_LE(max_pages, 2u) << name;
    // Latin: a page ahead; CJK: the continuation window of max(3 pages + 16, 64) lines.
    EXPECT_LE(max_lines, std::max<size_t>(3 * lines_per_page + 16, 64) + lines_per_page + 4)
        << name;
  }
}

TEST(page_layouter, hands_over_empty_pages_of_form_feeds_and_drops_trailing_ones) {
  const std::u32string text = U"a\f\f\fb\f\f";
  PageLayouter layouter(text, en(), en_fonts());
  std::vector<PageLayout> pages;
  PageLayout page;
  while (layouter.next_page(page)) pages.push_back(std::move(page));
  ASSERT_EQ(pages.size(), 4u);  // "a", two empty pages, "b" (the trailing breaks add none)
  EXPECT_EQ(pages[1].lines.size(), 0u);
  EXPECT_EQ(pages[2].char_start, pages[2].char_end);
  EXPECT_TRUE(pages[3].last);
  EXPECT_EQ(pages[3].char_end, text.size());
  EXPECT_EQ(pages[0].char_start, 0u);
  for (size_t i = 1; i < pages.size(); ++i) EXPECT_EQ(pages[i].char_start, pages[i - 1].char_end);
}

}  // namespace
}  // namespace glyph
