#include "config/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "support/paths.h"

namespace glyph {
namespace {

std::string error_of(std::string_view json) {
  try {
    parse_config_json(json, "/cfg", nullptr, "config.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_config);
    return e.what();
  }
  return "";
}

TEST(config, official_files_load_as_they_are) {
  for (const char* name : {"config_en.json", "config_zh.json"}) {
    std::vector<std::string> warnings;
    const std::string path = test::shared_dir() + "/data/glyph-configs/" + name;
    const RenderConfig config = load_config(path, &warnings);
    EXPECT_TRUE(warnings.empty()) << name;
    EXPECT_EQ(config.page_width_pt, 595);
    EXPECT_EQ(config.page_height_pt, 842);
    EXPECT_EQ(config.dpi, 72);
    EXPECT_EQ(config.margin_x_pt, 10);
    EXPECT_EQ(config.font_size_pt, 9);
    EXPECT_EQ(config.line_height_pt, 10);
    EXPECT_EQ(config.alignment, Alignment::left);
    EXPECT_TRUE(config.auto_crop_width);
    EXPECT_TRUE(config.auto_crop_last_page);
    EXPECT_FALSE(config.auto_crop_height);  // the extension stays off: pages as the reference's
    EXPECT_TRUE(config.newline.line_break);
    // font-path is relative to the config's folder.
    const std::string expected_dir =
        std::filesystem::weakly_canonical(test::shared_dir() + "/data/config")
            .lexically_normal()
            .string();
    EXPECT_EQ(
        std::filesystem::weakly_canonical(std::filesystem::path(config.font_path).parent_path())
            .string(),
        expected_dir)
        << config.font_path;
  }
}

TEST(config, defaults_follow_the_reference_renderer) {
  const RenderConfig config =
      parse_config_json(R"({"font-path": "f.ttf", "font-size": 12})", "/base");
  EXPECT_EQ(config.margin_x_pt, 20);
  EXPECT_EQ(config.margin_y_pt, 20);
  EXPECT_EQ(config.line_height_pt, 13);  // font-size + 1
  EXPECT_EQ(config.alignment, Alignment::justify);
  EXPECT_EQ(config.newline_markup, "<br/>");
  EXPECT_EQ(config.font_path, "/base/f.ttf");
  EXPECT_EQ(config.page_bg_color, (Rgb{255, 255, 255}));
  EXPECT_EQ(config.wrap, WrapMode::reportlab);
  EXPECT_TRUE(config.antialias);
  // line-height 0 or null means font-size + 1 too (Python's `or`).
  EXPECT_EQ(parse_config_json(R"({"font-size": 8, "line-height": 0})", "").line_height_pt, 9);
}

TEST(config, unknown_alignment_means_justify_with_a_warning) {
  std::vector<std::string> warnings;
  const RenderConfig config =
      parse_config_json(R"({"alignment": "left"})", "", &warnings, "c.json");
  EXPECT_EQ(config.alignment, Alignment::justify);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"left\""), std::string::npos);
}

TEST(config, unknown_keys_are_warnings_naming_them) {
  std::vector<std::string> warnings;
  parse_config_json(R"({"dpi": 96, "fnot-size": 9})", "", &warnings, "c.json");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("\"fnot-size\""), std::string::npos);
}

TEST(config, errors_name_key_and_value) {
  EXPECT_EQ(error_of(R"({"dpi": "abc"})"),
            "config.json: key \"dpi\": expected a positive number, got \"abc\"");
  EXPECT_NE(error_of(R"({"dpi": -3})").find("key \"dpi\""), std::string::npos);
  EXPECT_NE(error_of(R"({"page-size": "595x842"})").find("\"595x842\""), std::string::npos);
  EXPECT_NE(error_of(R"({"font-color": "red"})").find("\"red\""), std::string::npos);
  EXPECT_NE(error_of(R"({"font-color": "red"})").find("font-color"), std::string::npos);
  EXPECT_NE(error_of(R"({"auto-crop-width": "yes"})").find("auto-crop-width"), std::string::npos);
  EXPECT_NE(error_of(R"({"wrap": "fast"})").find("\"fast\""), std::string::npos);
  EXPECT_NE(error_of(R"({"margin-x": 400})").find("leave no room"), std::string::npos);
  EXPECT_NE(error_of(R"({"newline-markup": "<p>"})").find("newline-markup"), std::string::npos);
  EXPECT_NE(error_of("{\"dpi\": 72,}").find("not valid JSON at byte"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("expected a JSON object"), std::string::npos);
  // Found by the layout fuzz target: a number too large for a double is no syntax error.
  EXPECT_NE(error_of(R"({"dpi": 555e0554})").find("not valid JSON: "), std::string::npos);
}

TEST(config, missing_file_names_the_path) {
  try {
    load_config("/nonexistent/glyph.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/glyph.json"), std::string::npos);
  }
}

TEST(config, red_newline_markup_is_decoded) {
  const RenderConfig config =
      parse_config_json(R"({"newline-markup": "<font color=\"#FF0000\"> \\n </font>"})", "");
  EXPECT_FALSE(config.newline.line_break);
  EXPECT_EQ(config.newline.inline_text, U" \\n ");
  EXPECT_EQ(config.newline.inline_color, (Rgb{255, 0, 0}));
  EXPECT_FALSE(config.gray_output());
}

TEST(config, presets_equal_the_files_in_configs) {
  // Except "reflow": the built-in presets set auto, the files leave it off so that
  // `-c configs/en.json` renders as the reference renderer does (docs/reflow.md).
  for (const char* name : {"en", "zh"}) {
    const std::string file = test::source_dir() + "/configs/" + name + ".json";
    RenderConfig from_file = load_config(file);
    EXPECT_EQ(from_file.reflow, ReflowMode::off) << name;
    EXPECT_EQ(preset_config(name).reflow, ReflowMode::automatic) << name;
    from_file.reflow = ReflowMode::automatic;
    EXPECT_EQ(config_to_json(from_file), config_to_json(preset_config(name))) << name;
  }
  EXPECT_NE(preset_config("en").font_path.find("DejaVuSans.ttf"), std::string::npos);
  EXPECT_NE(preset_config("zh").font_path.find("NotoSansCJK"), std::string::npos);
  EXPECT_THROW(preset_config("fr"), Error);
}

TEST(config, auto_crop_height_is_on_in_the_presets_and_round_trips) {
  EXPECT_TRUE(preset_config("en").auto_crop_height);
  EXPECT_TRUE(preset_config("zh").auto_crop_height);
  RenderConfig config = parse_config_json(R"({"auto-crop-height": true})", "");
  EXPECT_TRUE(config.auto_crop_height);
  EXPECT_TRUE(parse_config_json(config_to_json(config), "").auto_crop_height);
  config.auto_crop_height = false;
  EXPECT_FALSE(parse_config_json(config_to_json(config), "").auto_crop_height);
  EXPECT_NE(error_of(R"({"auto-crop-height": "yes"})").find("auto-crop-height"), std::string::npos);
}

TEST(config, chooses_preset_by_content) {
  EXPECT_EQ(preset_name_for_text(U"plain English"), "en");
  EXPECT_EQ(preset_name_for_text(U"mostly English \u4E2D"), "zh");
  EXPECT_EQ(preset_name_for_text(U"\u3042\u3044 kana only"), "en");
}

TEST(config, json_round_trip) {
  RenderConfig config = parse_config_json(
      R"({"page-size": "400,600", "dpi": 96, "alignment": "CENTER", "font-color": "#102030",
          "wrap": "unicode", "page-markers": "footer", "max-text-tokens-per-page": 500,
          "normalize": "nfkc", "fallback-fonts": ["/a.ttf", "/b.ttc#2"]})",
      "");
  const RenderConfig again = parse_config_json(config_to_json(config), "");
  EXPECT_EQ(config_to_json(again), config_to_json(config));
  EXPECT_EQ(again.page_width_pt, 400);
  EXPECT_EQ(again.font_color, (Rgb{0x10, 0x20, 0x30}));
  EXPECT_EQ(again.page_markers, PageMarkers::footer);
  EXPECT_EQ(again.fallback_fonts.size(), 2u);
  EXPECT_EQ(parse_font_ref("/b.ttc#2").face_index, 2);
  EXPECT_EQ(parse_font_ref("/b.ttc#2").path, "/b.ttc");
}

}  // namespace
}  // namespace glyph
