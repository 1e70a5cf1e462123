#include "tokens/visual_tokens.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph {
namespace {

std::int64_t tokens(const char* model, int width_px, int height_px,
                    VisualTokenOptions options = {}) {
  return count_visual_tokens(model, width_px, height_px, options).tokens;
}

std::string error_of(const char* model, int width_px, int height_px,
                     VisualTokenOptions options = {}) {
  try {
    count_visual_tokens(model, width_px, height_px, options);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    return e.what();
  }
  return "";
}

TEST(visual_tokens, a4_page_at_72_dpi_matches_the_worked_examples) {
  const auto qwen = count_visual_tokens("qwen2-vl", 595, 842);
  EXPECT_EQ(qwen.tokens, 630);
  EXPECT_EQ(qwen.resized_width_px, 588);
  EXPECT_EQ(qwen.resized_height_px, 840);
  EXPECT_EQ(qwen.wrapper_tokens, 2);
  EXPECT_EQ(tokens("qwen2.5-vl", 595, 842), 630);
  const auto glyph = count_visual_tokens("glyph", 595, 842);
  EXPECT_EQ(glyph.tokens, 630);
  EXPECT_EQ(glyph.model, "glm-4.1v");
  const auto qwen3 = count_visual_tokens("qwen3-vl", 595, 842);
  EXPECT_EQ(qwen3.tokens, 494);
  EXPECT_EQ(qwen3.resized_width_px, 608);
  EXPECT_EQ(qwen3.resized_height_px, 832);
  const auto internvl = count_visual_tokens("internvl3", 595, 842);
  EXPECT_EQ(internvl.tokens, 1792);
  EXPECT_EQ(internvl.grid_columns, 2);
  EXPECT_EQ(internvl.grid_rows, 3);
  EXPECT_EQ(internvl.views, 7);
}

TEST(visual_tokens, halves_round_to_even_as_python_does) {
  // 70/28 = 2.5 → 2 (56 px); 98/28 = 3.5 → 4 (112 px).
  const auto down = count_visual_tokens("qwen2-vl", 70, 98);
  EXPECT_EQ(down.resized_width_px, 56);
  EXPECT_EQ(down.resized_height_px, 112);
  EXPECT_EQ(down.tokens, 8);
  EXPECT_EQ(tokens("qwen2-vl", 98, 98), 16);
  EXPECT_EQ(tokens("qwen2-vl", 70, 70), 4);
}

TEST(visual_tokens, max_pixels_cap_scales_down_with_floor) {
  const auto big = count_visual_tokens("qwen2-vl", 5000, 5000);
  EXPECT_EQ(big.resized_width_px, 3556);
  EXPECT_EQ(big.tokens, 16129);
  EXPECT_EQ(tokens("qwen3-vl", 5000, 5000), 16384);
  // GLM counts the image as two frames: the cap per image is half.
  const auto glm = count_visual_tokens("glm-4.1v", 5000, 5000);
  EXPECT_EQ(glm.resized_width_px, 2184);
  EXPECT_EQ(glm.tokens, 6084);
  EXPECT_LE(glm.tokens, 6144);
  VisualTokenOptions capped;
  capped.max_pixels = 200000;
  const auto q = count_visual_tokens("qwen2-vl", 595, 842, capped);
  EXPECT_EQ(q.resized_width_px, 364);
  EXPECT_EQ(q.resized_height_px, 532);
  EXPECT_EQ(q.tokens, 247);
  EXPECT_EQ(tokens("glm-4.1v", 595, 842, capped), 117);
}

TEST(visual_tokens, min_pixels_cap_scales_up_with_ceil) {
  VisualTokenOptions floor;
  floor.min_pixels = 2000000;
  const auto q = count_visual_tokens("qwen2-vl", 595, 842, floor);
  EXPECT_EQ(q.resized_width_px, 1204);
  EXPECT_EQ(q.resized_height_px, 1708);
  EXPECT_EQ(q.tokens, 2623);
  EXPECT_EQ(tokens("glm-4.1v", 595, 842, floor), 1333);
  EXPECT_EQ(tokens("qwen3-vl", 70, 70), 64);  // its default floor of 65536 pixels
}

TEST(visual_tokens, tiny_images_are_scaled_up) {
  EXPECT_EQ(tokens("qwen2-vl", 10, 10), 4);
  // GLM scales a side under 28 up first: 20x3000 → 28x4200.
  const auto glm = count_visual_tokens("glm-4.1v", 20, 3000);
  EXPECT_EQ(glm.resized_width_px, 28);
  EXPECT_EQ(glm.resized_height_px, 4200);
  EXPECT_EQ(glm.tokens, 150);
  EXPECT_EQ(tokens("glm-4.1v", 14, 14), 9);
  EXPECT_EQ(tokens("qwen2-vl", 1, 150), 25);
}

TEST(visual_tokens, aspect_ratio_over_200_is_refused) {
  const std::string message = error_of("qwen2-vl", 10, 2010);
  EXPECT_NE(message.find("aspect ratio of 201.0"), std::string::npos) << message;
  EXPECT_NE(message.find("200"), std::string::npos) << message;
  EXPECT_NE(error_of("glyph", 3000, 14), "");
  EXPECT_NE(error_of("qwen3-vl", 1, 201), "");
  EXPECT_EQ(tokens("qwen2-vl", 10, 2000), count_visual_tokens("qwen2-vl", 10, 2000).tokens);
}

TEST(visual_tokens, internvl_picks_the_closest_grid_and_adds_a_thumbnail) {
  EXPECT_EQ(tokens("internvl3", 448, 448), 256);     // one tile, no thumbnail
  EXPECT_EQ(tokens("internvl3", 1000, 1000), 2560);  // ties go to 3x3 while the image covers it
  EXPECT_EQ(tokens("internvl3", 100, 100), 256);     // ties stay 1x1 for a small image
  EXPECT_EQ(tokens("internvl2.5", 2000, 500), 1280);
  EXPECT_EQ(tokens("internvl3", 842, 595), 3328);
  EXPECT_EQ(tokens("internvl3", 300, 3000), 2816);
  VisualTokenOptions few;
  few.max_tiles = 6;
  EXPECT_EQ(tokens("internvl3", 1000, 1000), 2560);
  EXPECT_EQ(tokens("internvl3", 1000, 1000, few), 1280);
}

TEST(visual_tokens, gemma3_is_fixed_unless_pan_and_scan) {
  EXPECT_EQ(tokens("gemma3", 595, 842), 256);
  EXPECT_EQ(tokens("gemma3", 5000, 100), 256);
  VisualTokenOptions pan;
  pan.pan_and_scan = true;
  EXPECT_EQ(tokens("gemma3", 595, 842, pan), 256 * 3);    // floor(1.42 + 0.5) = 1, at least 2 crops
  EXPECT_EQ(tokens("gemma3", 600, 600, pan), 256);        // square: off
  EXPECT_EQ(tokens("gemma3", 1000, 4000, pan), 256 * 5);  // 4 crops of 1000x1000
  EXPECT_EQ(tokens("gemma3", 300, 1200, pan), 256 * 5);   // 4 crops of 300x300
  EXPECT_EQ(tokens("gemma3", 200, 1200, pan), 256);       // crops would be 200 wide: under 256
  EXPECT_EQ(count_visual_tokens("gemma3", 1000, 4000, pan).wrapper_tokens, 10);
}

TEST(visual_tokens, deepseek_ocr_modes) {
  EXPECT_EQ(tokens("deepseek-ocr-tiny", 595, 842), 73);
  EXPECT_EQ(tokens("deepseek-ocr-small", 595, 842), 111);
  EXPECT_EQ(tokens("deepseek-ocr-base", 595, 842), 273);
  EXPECT_EQ(tokens("deepseek-ocr-large", 595, 842), 421);
  EXPECT_EQ(tokens("deepseek-ocr-gundam", 600, 600), 273);   // no crops up to 640
  EXPECT_EQ(tokens("deepseek-ocr-gundam", 595, 842), 903);   // 2x3 crops: 273 + 21*30
  EXPECT_EQ(tokens("deepseek-ocr-gundam", 2000, 500), 683);  // 4x1: 273 + 41*10
  EXPECT_EQ(tokens("deepseek-ocr-gundam", 1280, 640), 483);  // 2x1: 273 + 21*10
}

TEST(visual_tokens, unknown_model_lists_the_known_ones) {
  const std::string message = error_of("llava", 100, 100);
  EXPECT_NE(message.find("unknown model \"llava\""), std::string::npos) << message;
  for (const auto& name : known_visual_models()) {
    EXPECT_NE(message.find(name), std::string::npos) << name;
  }
}

TEST(visual_tokens, bad_sizes_and_options_are_refused) {
  EXPECT_NE(error_of("qwen2-vl", 0, 100), "");
  EXPECT_NE(error_of("qwen2-vl", 100, -5), "");
  VisualTokenOptions pixels;
  pixels.max_pixels = 1000;
  EXPECT_NE(error_of("internvl3", 100, 100, pixels), "");
  pixels.max_pixels = 0;
  EXPECT_NE(error_of("qwen2-vl", 100, 100, pixels), "");
  VisualTokenOptions pan;
  pan.pan_and_scan = true;
  EXPECT_NE(error_of("qwen2-vl", 100, 100, pan), "");
}

}  // namespace
}  // namespace glyph

namespace glyph {
namespace {

TEST(visual_tokens_cli_integration, vtokens_prints_the_count) {
  EXPECT_EQ(test::run_glyph("vtokens --model glyph 595x842").output(), "630\n");
  EXPECT_EQ(test::run_glyph("vtokens --model glyph --with-wrappers 595x842").output(), "632\n");
  EXPECT_EQ(test::run_glyph("vtokens --model qwen2-vl --max-pixels 200000 595x842").output(),
            "247\n");
  EXPECT_EQ(test::run_glyph("vtokens -m internvl3 --json 595x842").output(),
            "{\"model\": \"internvl3\", \"width\": 595, \"height\": 842, \"resized_width\": 896, "
            "\"resized_height\": 1344, \"grid\": [2, 3], \"views\": 7, \"tokens\": 1792, "
            "\"wrapper_tokens\": 2}\n");
}

TEST(visual_tokens_cli_integration, vtokens_errors_name_the_problem) {
  const auto unknown = test::run_glyph("vtokens --model nosuch 595x842");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output().find("error: unknown model \"nosuch\"; known models: qwen2-vl"),
            std::string::npos)
      << unknown.output();
  const auto bad_size = test::run_glyph("vtokens 595by842");
  EXPECT_EQ(bad_size.exit_code, 1);
  EXPECT_NE(bad_size.output().find("WIDTHxHEIGHT"), std::string::npos) << bad_size.output();
  EXPECT_EQ(test::run_glyph("vtokens --model qwen2-vl 10x2010").exit_code, 1);
}

}  // namespace
}  // namespace glyph
