#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "image/image.h"
#include "raster/draw.h"
#include "raster/glyph_cache.h"
#include "raster/renderer.h"
#include "support/paths.h"
#include "text/prepare.h"

namespace glyph {
namespace {

constexpr const char* kDejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

detail::GlyphBitmap coverage_bitmap(std::initializer_list<uint8_t> values, int width) {
  detail::GlyphBitmap g;
  g.width = width;
  g.height = static_cast<int>(values.size()) / width;
  g.pitch = (width + 15) & ~7;  // as the glyph cache pads coverage rows: >= 8 zero bytes after
  g.top = g.height;
  g.data.assign(static_cast<size_t>(g.pitch) * g.height, 0);
  size_t i = 0;
  for (uint8_t v : values) {
    g.data[(i / width) * g.pitch + i % width] = v;
    ++i;
  }
  return g;
}

// Wide glyph rows are blended 8 pixels at a time; every coverage, background and ink value must
// give what the scalar formula gives: ((255 - a) * d + a * s) / 255, truncated.
TEST(raster_draw, blends_eight_pixels_at_a_time_exactly) {
  detail::GlyphBitmap g;
  g.width = 256;
  g.height = 256;
  g.pitch = 264;
  g.top = 256;
  g.data.assign(static_cast<size_t>(g.pitch) * g.height, 0);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x)
      g.data[y * g.pitch + x] = static_cast<uint8_t>((x + 37 * y) & 255);
  for (int ink : {0, 77, 255}) {
    PageImage img(270, 256, 1);
    for (int y = 0; y < 256; ++y)
      std::fill(img.row(y), img.row(y) + img.width_px, static_cast<uint8_t>(y));
    detail::draw_glyph(img, g, 3, 256,
                       detail::ink_for({uint8_t(ink), uint8_t(ink), uint8_t(ink)}, 1));
    int wrong = 0;
    for (int y = 0; y < 256; ++y) {
      for (int x = 0; x < img.width_px; ++x) {
        const int a = x >= 3 && x < 259 ? (x - 3 + 37 * y) & 255 : 0;
        const int expected = ((255 - a) * y + a * ink) / 255;
        wrong += img.row(y)[x] != expected;
      }
    }
    EXPECT_EQ(wrong, 0) << "ink " << ink;
  }
}

TEST(raster_draw, blends_coverage_as_splash_does) {
  PageImage gray(4, 1, 1, 255);
  const auto g = coverage_bitmap({0, 1, 128, 255}, 4);
  detail::draw_glyph(gray, g, 0, 1, detail::ink_for({0, 0, 0}, 1));
  // ((255 - a) * 255 + a * 0) / 255 = 255 - a; zero coverage leaves the pixel alone.
  EXPECT_EQ(gray.pixels, (std::vector<uint8_t>{255, 254, 127, 0}));

  PageImage rgb(2, 1, 3, 200);
  const auto g2 = coverage_bitmap({100, 255}, 2);
  detail::draw_glyph(rgb, g2, 0, 1, detail::ink_for({255, 0, 10}, 3));
  // (155 * 200 + 100 * 255) / 255 = 221.56 → 221 (truncated); (155 * 200) / 255 = 121.57 → 121;
  // (155 * 200 + 1000) / 255 = 125.49 → 125.
  EXPECT_EQ(rgb.pixels, (std::vector<uint8_t>{221, 121, 125, 255, 0, 10}));
}

TEST(raster_draw, clips_glyphs_at_every_edge) {
  PageImage img(3, 3, 1, 255);
  const auto g = coverage_bitmap({255, 255, 255, 255}, 2);
  detail::draw_glyph(img, g, -1, 1, detail::ink_for({0, 0, 0}, 1));   // top-left, half outside
  detail::draw_glyph(img, g, 2, 4, detail::ink_for({0, 0, 0}, 1));    // bottom-right, half outside
  detail::draw_glyph(img, g, 10, 10, detail::ink_for({0, 0, 0}, 1));  // entirely outside
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 255, 255, 255, 255, 255, 255, 255, 0}));
}

TEST(raster_draw, mono_glyphs_set_full_ink) {
  PageImage img(9, 1, 1, 255);
  detail::GlyphBitmap g;
  g.mono = true;
  g.width = 9;
  g.height = 1;
  g.pitch = 2;
  g.top = 1;
  g.data = {0xA0, 0x80};  // columns 0, 2 and 8
  detail::draw_glyph(img, g, 0, 1, detail::ink_for({0, 0, 0}, 1));
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{0, 255, 0, 255, 255, 255, 255, 255, 0}));
}

TEST(raster_draw, snapped_rectangles_round_edges_and_keep_one_pixel) {
  PageImage img(10, 4, 1, 255);
  detail::fill_rect_snapped(img, 1.4, 0.6, 3.5, 2.2, detail::ink_for({0, 0, 0}, 1));
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 10; ++x)
      EXPECT_EQ(img.row(y)[x], (x >= 1 && x < 4 && y >= 1 && y < 2) ? 0 : 255) << x << "," << y;
  PageImage thin(5, 5, 1, 255);
  detail::fill_rect_snapped(thin, 2.1, 0, 2.3, 5, detail::ink_for({0, 0, 0}, 1));
  EXPECT_EQ(thin.row(3)[2], 0);
  EXPECT_EQ(thin.row(3)[1], 255);
  EXPECT_EQ(thin.row(3)[3], 255);
}

TEST(raster_crop, matches_the_reference_rules) {
  PageImage img(200, 100, 1, 255);
  img.row(40)[120] = 249;  // |249 - 255| = 6 > 5: content
  img.row(70)[30] = 250;   // exactly 5 off: background
  const auto both = detail::reference_crop_size(img, true, true, 10, 10);
  EXPECT_EQ(both.width_px, 120 + 1 + 10);
  EXPECT_EQ(both.height_px, 40 + 10);  // the reference adds no +1 for rows
  const auto width_only = detail::reference_crop_size(img, true, false, 10, 10);
  EXPECT_EQ(width_only.height_px, 100);
  // Margins past the edge clamp to the image; a 10.5 margin rounds half to even (Python round).
  EXPECT_EQ(detail::reference_crop_size(img, true, true, 500, 500).width_px, 200);
  EXPECT_EQ(detail::reference_crop_size(img, true, false, 10.5, 0).width_px, 132);  // 131.5 → 132
  EXPECT_EQ(detail::reference_crop_size(img, true, false, 11.5, 0).width_px, 132);  // 132.5 → 132
}

TEST(raster_crop, background_is_the_median_of_the_corner_and_blank_pages_stay) {
  PageImage rgb(50, 20, 3, 0);
  for (size_t i = 0; i < rgb.pixels.size(); i += 3) rgb.pixels[i] = 200;  // dark red page: L = 60
  const auto blank = detail::reference_crop_size(rgb, true, true, 10, 10);
  EXPECT_EQ(blank.width_px, 50);
  EXPECT_EQ(blank.height_px, 20);
  rgb.row(5)[3 * 12 + 1] = 7;  // adds green: L 60 → 64, still background
  EXPECT_EQ(detail::reference_crop_size(rgb, true, false, 2, 0).width_px, 50);
  rgb.row(5)[3 * 12 + 1] = 15;  // L 60 → 69: content
  EXPECT_EQ(detail::reference_crop_size(rgb, true, false, 2, 0).width_px, 12 + 1 + 2);
}

TEST(glyph_cache, splits_the_pen_into_pixel_and_quarter_bucket) {
  FontSet fonts({kDejaVu}, 9);
  detail::GlyphCache cache(fonts, 9.0, true);
  EXPECT_EQ(cache.split_pen_x(0, 10.0).pixel, 10);
  EXPECT_EQ(cache.split_pen_x(0, 10.0).bucket, 0);
  EXPECT_EQ(cache.split_pen_x(0, 10.3).bucket, 1);
  EXPECT_EQ(cache.split_pen_x(0, 10.5).bucket, 2);
  EXPECT_EQ(cache.split_pen_x(0, 10.99).bucket, 3);
  EXPECT_EQ(cache.split_pen_x(0, -0.25).pixel, -1);
  EXPECT_EQ(cache.split_pen_x(0, -0.25).bucket, 3);
  // Large text (font box over 47 px tall) and mono text use no fractions, as Splash.
  detail::GlyphCache large(fonts, 60.0, true);
  EXPECT_EQ(large.split_pen_x(0, 10.5).bucket, 0);
  detail::GlyphCache mono(fonts, 9.0, false);
  EXPECT_EQ(mono.split_pen_x(0, 10.5).bucket, 0);
}

TEST(glyph_cache, renders_each_glyph_once_and_shares_it_across_threads) {
  FontSet fonts({kDejaVu}, 9);
  detail::GlyphCache cache(fonts, 12.0, true);
  const uint32_t gid = fonts.lookup(U'g').glyph_id;
  std::vector<const detail::GlyphBitmap*> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i)
        for (int b = 0; b < 4; ++b)
          cache.get(0, fonts.lookup(static_cast<char32_t>(U'a' + i % 26)).glyph_id, b);
      seen[t] = &cache.get(0, gid, 2);
    });
  }
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(cache.rendered_count(), 26u * 4);
  const detail::GlyphBitmap& g = *seen[0];
  EXPECT_GT(g.width, 3);
  EXPECT_GT(g.top, 3);         // 'g' rises above the baseline
  EXPECT_GT(g.height, g.top);  // and descends below it
  EXPECT_FALSE(g.mono);
  // Shifting the outline by a quarter pixel changes the coverage.
  EXPECT_NE(cache.get(0, gid, 0).data, cache.get(0, gid, 2).data);
  // Out-of-range glyph ids and fonts are blank, not a crash.
  EXPECT_TRUE(cache.get(0, 1u << 30, 0).data.empty());
  EXPECT_TRUE(cache.get(7, gid, 0).data.empty());
}

RenderConfig small_config() {
  RenderConfig config = preset_config("en");
  config.page_width_pt = 200;
  config.page_height_pt = 120;
  config.auto_crop_width = false;
  config.auto_crop_last_page = false;
  config.auto_crop_height = false;
  return config;
}

TEST(renderer, sizes_pages_as_pdftoppm_and_draws_gray_text) {
  RenderConfig config = small_config();
  config.dpi = 100;  // 200 pt → 277.8 → 278 px; 120 pt → 166.7 → 167 px
  const Renderer renderer(config);
  EXPECT_EQ(renderer.page_width_px(), 278);
  EXPECT_EQ(renderer.page_height_px(), 167);
  const std::u32string text = U"Hello, world.";
  const Layout layout = renderer.lay_out(text);
  ASSERT_EQ(layout.pages.size(), 1u);
  const RasterPage page = renderer.rasterize_page(layout, 0);
  EXPECT_EQ(page.image.channels, 1);
  EXPECT_EQ(page.image.width_px, 278);
  ASSERT_EQ(page.line_boxes.size(), 1u);
  const PixelRect& box = page.line_boxes[0];
  // Ink only inside the line box, and some ink in it. Allowed overshoot: 2 px, since the baseline
  // is floored to a whole pixel (< 1 px up, as pdftoppm does) and anti-aliasing touches one more
  // row or column.
  int inside = 0, outside = 0;
  for (int y = 0; y < page.image.height_px; ++y) {
    for (int x = 0; x < page.image.width_px; ++x) {
      if (page.image.row(y)[x] == 255) continue;
      const bool in =
          x >= box.x0_px - 2 && x <= box.x1_px + 2 && y >= box.y0_px - 2 && y <= box.y1_px + 2;
      (in ? inside : outside)++;
    }
  }
  EXPECT_GT(inside, 100);
  EXPECT_EQ(outside, 0);
  // First line: 10 pt margin + 6 pt frame padding = 16 pt = 22.2 px.
  EXPECT_NEAR(box.x0_px, 16 * 100.0 / 72, 0.01);
}

// A fallback glyph wider than the advance the reference gives its character (DejaVu's .notdef
// width, 0.6 em, for a 1-em ideograph) is drawn narrowed to that advance, not at full width
// over its neighbours.
TEST(renderer, wide_fallback_glyph_stays_within_its_advance_box) {
  RenderConfig config = small_config();
  config.font_size_pt = 30;
  ASSERT_EQ(config.fallback_metrics, FallbackMetrics::reference);
  const Renderer renderer(config);
  const Layout layout = renderer.lay_out(U"\u4E2D");
  ASSERT_EQ(layout.pages.size(), 1u);
  ASSERT_EQ(layout.pages[0].lines.size(), 1u);
  ASSERT_EQ(layout.pages[0].lines[0].glyphs.size(), 1u);
  ASSERT_LT(layout.pages[0].lines[0].glyphs[0].x_scale(), 0.7f);
  const RasterPage page = renderer.rasterize_page(layout, 0);
  const PixelRect& box = page.line_boxes[0];
  int ink_x0 = page.image.width_px, ink_x1 = -1;
  for (int y = 0; y < page.image.height_px; ++y) {
    for (int x = 0; x < page.image.width_px; ++x) {
      if (page.image.row(y)[x] == 255) continue;
      ink_x0 = std::min(ink_x0, x);
      ink_x1 = std::max(ink_x1, x);
    }
  }
  ASSERT_GE(ink_x1, 0) << "nothing drawn";
  // One pixel of anti-aliasing either side.
  EXPECT_GE(ink_x0, std::floor(box.x0_px) - 1);
  EXPECT_LE(ink_x1, std::ceil(box.x1_px) + 1);
  // Narrowed, not clipped: 中 spans most of the advance.
  EXPECT_GE(ink_x1 - ink_x0 + 1, 0.75 * (box.x1_px - box.x0_px));
}

TEST(renderer, colors_give_rgb_output_and_backgrounds) {
  RenderConfig config = small_config();
  config.font_color = {200, 0, 0};
  config.page_bg_color = {0, 0, 60};
  config.font_size_pt = 30;  // stems wide enough for fully covered pixels
  const Renderer renderer(config);
  const Layout layout = renderer.lay_out(U"Red text");
  const PageImage img = renderer.rasterize(layout, 0);
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.row(0)[0], 0);
  EXPECT_EQ(img.row(0)[2], 60);
  bool found_red = false;
  for (size_t i = 0; i < img.pixels.size(); i += 3)
    found_red =
        found_red || (img.pixels[i] == 200 && img.pixels[i + 1] == 0 && img.pixels[i + 2] == 0);
  EXPECT_TRUE(found_red);
}

TEST(renderer, crops_and_scales_like_the_reference) {
  RenderConfig config = small_config();
  config.auto_crop_width = true;
  config.auto_crop_last_page = true;
  const Renderer renderer(config);
  const Layout layout = renderer.lay_out(U"abc");
  const PageImage cropped = renderer.rasterize(layout, 0);
  EXPECT_LT(cropped.width_px, 60);   // "abc" at 9 pt ends near 35 pt; + 10 px margin
  EXPECT_LT(cropped.height_px, 40);  // one line + 10 rows
  config.horizontal_scale = 0.5;
  const Renderer half(config);
  const PageImage scaled = half.rasterize(half.lay_out(U"abc"), 0);
  EXPECT_EQ(scaled.width_px, (cropped.width_px + 1) / 2);
  EXPECT_EQ(scaled.height_px, cropped.height_px);
  const auto boxes = half.line_boxes_px(half.lay_out(U"abc"), 0, scaled);
  EXPECT_NEAR(boxes[0].x0_px, 8.0, 0.01);  // 16 px × 0.5
}

// small_config() pages hold 8 lines. Page 1 is full, page 2 holds the paragraph's last two lines
// (after the empty line ReportLab starts a continued paragraph with) and a form feed, page 3 is
// the last.
std::u32string full_short_last_text() {
  std::u32string text;
  for (int i = 1; i <= 10; ++i) text += U"line " + std::u32string(1, U'0' + i % 10) + U"\n";
  text.back() = U'\f';
  return text + U"after";
}

TEST(renderer, auto_crop_height_crops_the_pages_a_break_leaves_short) {
  RenderConfig config = small_config();
  const std::u32string text = full_short_last_text();
  const Renderer off(config);
  const Layout layout = off.lay_out(text);
  ASSERT_EQ(layout.pages.size(), 3u);
  ASSERT_EQ(layout.pages[0].lines.size(), 8u);
  ASSERT_EQ(layout.pages[1].lines.size(), 3u);
  config.auto_crop_height = true;
  const Renderer on(config);
  for (size_t i = 0; i < 3; ++i) {
    const PageImage uncropped = off.rasterize(layout, i);
    const RasterPage cropped = on.rasterize_page(layout, i);
    EXPECT_EQ(uncropped.height_px, 120) << "page " << i + 1;  // off: every page at full height
    EXPECT_EQ(cropped.image.width_px, uncropped.width_px);
    if (i == 0) {
      EXPECT_EQ(cropped.image.pixels, uncropped.pixels);  // a full page is left as it is
      continue;
    }
    // The last content row + margin-y (10 rows): three lines, or one.
    EXPECT_LE(cropped.image.height_px, i == 1 ? 60 : 40) << "page " << i + 1;
    EXPECT_GT(cropped.image.height_px, 20) << "page " << i + 1;
    // The crop only cuts rows off: what is kept is the uncropped page's top.
    const size_t kept = static_cast<size_t>(cropped.image.height_px) * uncropped.width_px;
    ASSERT_EQ(cropped.image.pixels.size(), kept);
    EXPECT_TRUE(std::equal(cropped.image.pixels.begin(), cropped.image.pixels.end(),
                           uncropped.pixels.begin()));
    for (const PixelRect& box : cropped.line_boxes)
      EXPECT_LE(box.y1_px, cropped.image.height_px) << "page " << i + 1;
  }
}

TEST(render_to_directory, layout_map_gives_the_cropped_page_sizes) {
  RenderConfig config = small_config();
  config.auto_crop_height = true;
  const Renderer renderer(config);
  const std::string dir = test::scratch_dir();
  const RenderResult result = renderer.render_to_directory(full_short_last_text(), dir);
  ASSERT_EQ(result.pages, 3u);
  const std::string json = read_file(result.layout_json_path);
  size_t at = 0;
  for (size_t i = 0; i < 3; ++i) {
    const PageImage image = decode_png(read_file(result.page_files[i]));
    if (i == 0) EXPECT_EQ(image.height_px, 120);
    if (i > 0) EXPECT_LT(image.height_px, 60);
    const std::string size = "\"width\": " + std::to_string(image.width_px) +
                             ", \"height\": " + std::to_string(image.height_px);
    at = json.find(size, at);
    EXPECT_NE(at, std::string::npos) << size << " for page " << i + 1 << " in " << json;
  }
}

TEST(renderer, antialias_off_gives_two_levels) {
  RenderConfig config = small_config();
  config.antialias = false;
  const Renderer renderer(config);
  const PageImage img = renderer.rasterize(renderer.lay_out(U"Crisp text at any size"), 0);
  std::set<uint8_t> levels(img.pixels.begin(), img.pixels.end());
  EXPECT_EQ(levels, (std::set<uint8_t>{0, 255}));
}

TEST(renderer, rejects_bad_values_and_page_indices) {
  RenderConfig config = small_config();
  config.dpi = 0;
  EXPECT_THROW(Renderer{config}, Error);
  config.dpi = 72;
  config.page_width_pt = 1e7;
  EXPECT_THROW(Renderer{config}, Error);
  const Renderer renderer(small_config());
  const Layout layout = renderer.lay_out(U"x");
  EXPECT_THROW(renderer.rasterize(layout, 5), Error);
}

TEST(render_to_directory, same_bytes_with_one_or_several_threads) {
  const std::string text8 = read_file(test::shared_dir() + "/data/examples/case1.txt");
  RenderConfig config = preset_config("en");
  config.page_height_pt = 300;  // more, smaller pages: more interleaving between threads
  const std::u32string text = prepare_text(text8, config).text;
  const Renderer renderer(config);
  const std::string dir = test::scratch_dir();
  RenderOptions one, three;
  one.threads = 1;
  three.threads = 3;
  const RenderResult a = renderer.render_to_directory(text, dir + "/one", one);
  const RenderResult b = renderer.render_to_directory(text, dir + "/three", three);
  ASSERT_GE(a.pages, 5u);
  ASSERT_EQ(a.pages, b.pages);
  for (size_t i = 0; i < a.pages; ++i)
    EXPECT_EQ(read_file(a.page_files[i]), read_file(b.page_files[i])) << i;
  EXPECT_EQ(read_file(a.layout_json_path), read_file(b.layout_json_path));
}

TEST(render_to_directory, removes_stale_pages_and_reports_unwritable_folders) {
  const Renderer renderer(small_config());
  const std::string dir = test::scratch_dir();
  write_file(dir + "/page_002.png", "old");
  write_file(dir + "/page_003.png", "old");
  const RenderResult r = renderer.render_to_directory(U"one page", dir);
  EXPECT_EQ(r.pages, 1u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/page_001.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/page_002.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/page_003.png"));
  write_file(dir + "/file", "x");
  try {
    renderer.render_to_directory(U"x", dir + "/file/sub");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("file/sub"), std::string::npos);
  }
}

// Many small pages of case1, for the pipeline tests below.
RenderOptions with_threads(int threads) {
  RenderOptions options;
  options.threads = threads;
  return options;
}

struct ManyPages {
  RenderConfig config;
  std::u32string text;
  ManyPages() : config(preset_config("en")) {
    config.page_height_pt = 150;
    text = prepare_text(read_file(test::shared_dir() + "/data/examples/case1.txt"), config).text;
  }
};

TEST(render_to_directory, reports_progress_in_page_order_with_the_exact_total_at_the_end) {
  const ManyPages input;
  const Renderer renderer(input.config);
  RenderOptions options;
  options.threads = 2;
  std::vector<std::pair<size_t, size_t>> calls;
  const auto caller = std::this_thread::get_id();
  options.on_page_written = [&](size_t done, size_t total) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    calls.emplace_back(done, total);
  };
  const RenderResult result =
      renderer.render_to_directory(input.text, test::scratch_dir(), options);
  ASSERT_GE(result.pages, 10u);
  ASSERT_EQ(calls.size(), result.pages);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].first, i + 1);
    if (i + 1 < calls.size()) {
      EXPECT_GT(calls[i].second, calls[i].first);
    }
  }
  EXPECT_EQ(calls.back().second, result.pages);
}

TEST(render_to_directory, an_error_of_the_progress_callback_stops_the_render_and_propagates) {
  const ManyPages input;
  const Renderer renderer(input.config);
  const std::string dir = test::scratch_dir();
  for (int threads : {1, 2, 4}) {
    RenderOptions options;
    options.threads = threads;
    size_t calls = 0;
    options.on_page_written = [&](size_t done, size_t) {
      ++calls;
      if (done == 3) throw Error(ErrorCode::cancelled, "stopped at page 3");
    };
    const std::string out = dir + "/" + std::to_string(threads);
    try {
      renderer.render_to_directory(input.text, out, options);
      FAIL() << threads;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::cancelled);
      EXPECT_STREQ(e.what(), "stopped at page 3");
    }
    EXPECT_EQ(calls, 3u);
    EXPECT_FALSE(std::filesystem::exists(out + "/layout.json"));
    EXPECT_FALSE(std::filesystem::exists(out + "/layout.json.tmp"));
    // The renderer is intact: the same folder renders completely afterwards.
    const RenderResult again = renderer.render_to_directory(input.text, out, with_threads(threads));
    EXPECT_GE(again.pages, 10u);
    EXPECT_TRUE(std::filesystem::exists(out + "/layout.json"));
  }
}

TEST(render_to_directory, a_page_file_that_cannot_be_written_stops_the_render_naming_it) {
  const ManyPages input;
  const Renderer renderer(input.config);
  const std::string dir = test::scratch_dir();
  std::filesystem::create_directories(dir + "/page_004.png");  // a folder where the page goes
  try {
    renderer.render_to_directory(input.text, dir, with_threads(2));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::io);
    EXPECT_NE(std::string(e.what()).find("page_004.png"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/layout.json"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/layout.json.tmp"));
}

TEST(render_to_directory, streamed_pages_match_the_whole_layout) {
  const ManyPages input;
  const Renderer renderer(input.config);
  const Layout layout = renderer.lay_out(input.text);
  const RenderResult result =
      renderer.render_to_directory(input.text, test::scratch_dir(), with_threads(3));
  ASSERT_EQ(result.pages, layout.pages.size());
  for (size_t i = 0; i < layout.pages.size(); ++i) {
    EXPECT_EQ(layout.pages[i].last, i + 1 == layout.pages.size());
    EXPECT_EQ(read_file(result.page_files[i]), encode_png(renderer.rasterize(layout, i))) << i;
  }
}

}  // namespace
}  // namespace glyph
