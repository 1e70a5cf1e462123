// The content presets (lines, code, json, table): the choice by content and what each does to
// the text and its layout (docs/config.md).
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "core/error.h"
#include "core/utf8.h"
#include "font/font.h"
#include "ingest/ingest.h"
#include "layout/layout.h"
#include "reflow/reflow.h"
#include "support/paths.h"

namespace glyph {
namespace {

std::string repeat_lines(const std::string& line, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) out += line + std::to_string(i) + "\n";
  return out;
}

const char* const kCode =
    "#include <cstdio>\n"
    "\n"
    "int main(int argc, char** argv) {\n"
    "    for (int i = 0; i < argc; ++i) {\n"
    "        std::printf(\"%s\\n\", argv[i]);\n"
    "    }\n"
    "\n"
    "    return 0;\n"
    "}\n";

std::string_view chosen(const std::string& utf8) {
  return preset_name_for_text(decode_utf8(utf8).text);
}

TEST(presets, every_preset_equals_its_file_in_configs) {
  for (std::string_view name : preset_names()) {
    const std::string file = test::source_dir() + "/configs/" + std::string(name) + ".json";
    RenderConfig from_file = load_config(file);
    EXPECT_EQ(from_file.reflow, ReflowMode::off) << name;
    from_file.reflow = preset_config(name).reflow;
    EXPECT_EQ(config_to_json(from_file), config_to_json(preset_config(name))) << name;
    EXPECT_TRUE(is_preset_name(name));
  }
  EXPECT_EQ(preset_names().size(), 6u);
  EXPECT_FALSE(is_preset_name("configs/en.json"));
  try {
    preset_config("verse");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"verse\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"table\""), std::string::npos) << e.what();
  }
}

TEST(presets, chosen_by_content) {
  EXPECT_EQ(chosen("A paragraph of English prose."), "en");
  EXPECT_EQ(chosen("中文 and English"), "zh");
  EXPECT_EQ(chosen("{\"a\": [1, 2, {\"b\": null}],\n \"c\": \"d\"}\n"), "json");
  EXPECT_EQ(chosen("{\"event\": \"start\", \"t\": 1}\n{\"event\": \"stop\", \"t\": 2}\n"), "json");
  // Braces that are not JSON are not json.
  EXPECT_NE(chosen("{not json at all}\n"), "json");
  EXPECT_EQ(chosen("| name | size |\n| --- | ---: |\n| a | 1 |\n| b | 2 |\n"), "table");
  EXPECT_EQ(chosen("name\tversion\tsize\nbash\t5.2\t7000\nzlib1g\t1.2\t160\nsed\t4.9\t880\n"),
            "table");
  EXPECT_EQ(chosen("name,version,size\nbash,5.2,7000\nzlib1g,1.2,160\nsed,4.9,880\n"), "table");
  EXPECT_EQ(chosen(kCode), "code");
  EXPECT_EQ(chosen(repeat_lines("2026-12-03 10:00 job started #", 30)), "lines");
  EXPECT_EQ(chosen(repeat_lines("milk, eggs and bread ", 12)), "lines");
  // Hard-wrapped prose (lines of 60-72 columns) stays en, and so does a tutorial that shows some
  // code between paragraphs.
  std::string wrapped;
  for (int i = 0; i < 20; ++i)
    wrapped += "The reference renderer breaks lines where ReportLab would, line " +
               std::to_string(i) + ", so\n";
  EXPECT_EQ(chosen(wrapped), "en");
  std::string tutorial;
  for (int i = 0; i < 6; ++i)
    tutorial += std::string("This paragraph explains what the next lines of the example do,\n") +
                "and why they matter to a reader of the manual, who will want to run\n" +
                "them on a machine of their own before reading the next section.\n\n" + kCode;
  EXPECT_EQ(chosen(tutorial), "en");
  EXPECT_EQ(chosen(""), "en");
  // The Glyph release's choice (the evaluation's) stays by script.
  EXPECT_EQ(script_preset_name(decode_utf8(kCode).text), "en");
  EXPECT_EQ(script_preset_name(U"中文"), "zh");
  // Without -c the preset is the script's: en packs code with newline markers, which compresses
  // more than the code preset (docs/config.md); the content preset is a suggestion.
  EXPECT_EQ(config_to_json(config_for_text(decode_utf8(kCode).text)),
            config_to_json(preset_config("en")));
  EXPECT_EQ(config_to_json(config_for_text(U"中文")), config_to_json(preset_config("zh")));
}

Layout lay_out_document(const std::string& utf8, const RenderConfig& config) {
  Document document;
  document.text = utf8;
  document.format = "txt";
  const PreparedDocument prepared = prepare_document(document, config);
  const FontSet fonts(config);
  return lay_out(prepared.text, config, fonts);
}

std::vector<std::u32string> drawn_lines(const std::string& utf8, const RenderConfig& config) {
  Document document;
  document.text = utf8;
  document.format = "txt";
  const PreparedDocument prepared = prepare_document(document, config);
  const FontSet fonts(config);
  const Layout layout = lay_out(prepared.text, config, fonts);
  std::vector<std::u32string> lines;
  for (const PageLayout& page : layout.pages)
    for (const LineLayout& line : page.lines)
      lines.push_back(drawn_text(line, prepared.text, config));
  return lines;
}

TEST(presets, lines_draws_every_newline_as_the_red_marker) {
  const RenderConfig config = preset_config("lines");
  EXPECT_FALSE(config.newline.line_break);
  EXPECT_EQ(config.newline.inline_text, U" \\n ");
  EXPECT_EQ(config.newline.inline_color, (Rgb{255, 0, 0}));
  EXPECT_EQ(config.alignment, Alignment::left);
  const std::string text = repeat_lines("item ", 40);
  const std::vector<std::u32string> lines = drawn_lines(text, config);
  // 40 short lines share a few rendered lines, each source newline drawn as " \n ".
  EXPECT_LE(lines.size(), 4u);
  EXPECT_EQ(lines.front().substr(0, 26), U"item 0 \\n item 1 \\n item 2");
  RenderConfig as_given = preset_config("en");
  as_given.reflow = ReflowMode::off;
  EXPECT_EQ(drawn_lines(text, as_given).size(), 40u);
}

TEST(presets, code_json_and_table_keep_every_line_indentation_and_blank_line) {
  for (const char* name : {"code", "json", "table"}) {
    const RenderConfig config = preset_config(name);
    EXPECT_NE(config.font_path.find("DejaVuSansMono.ttf"), std::string::npos) << name;
    EXPECT_EQ(config.alignment, Alignment::left) << name;
    EXPECT_EQ(config.reflow, ReflowMode::off) << name;
    EXPECT_TRUE(config.newline.line_break) << name;
    const std::vector<std::u32string> lines = drawn_lines(kCode, config);
    ASSERT_EQ(lines.size(), 9u) << name;  // one rendered line a source line, blank ones too
    EXPECT_EQ(lines[1], U"") << name;
    EXPECT_EQ(lines[3], U"    for (int i = 0; i < argc; ++i) {") << name;
    EXPECT_EQ(lines[4].substr(0, 8), U"        ") << name;
  }
  // Monospace: the indentation lines up (8 spaces are as wide as 8 letters).
  const RenderConfig config = preset_config("code");
  const Layout layout = lay_out_document("        x\nabcdefghx\n", config);
  const auto& lines = layout.pages.at(0).lines;
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NEAR(lines[0].glyphs.back().x_pt, lines[1].glyphs.back().x_pt, 1e-6);
}

TEST(presets, line_numbers_prefix_each_line_and_map_back_to_it) {
  RenderConfig config = preset_config("code");
  EXPECT_FALSE(config.line_numbers);
  config.line_numbers = true;
  EXPECT_TRUE(parse_config_json(config_to_json(config), "").line_numbers);
  Document document;
  document.text = kCode;
  document.format = "txt";
  const PreparedDocument prepared = prepare_document(document, config);
  const std::u32string nb = U"\u00A0";
  const std::u32string first = U"1" + nb + nb + U"#include <cstdio>\n";
  EXPECT_EQ(prepared.text.substr(0, first.size()), first);
  const std::u32string blank = U"2" + nb + nb + U"\n";
  EXPECT_EQ(prepared.text.substr(first.size(), blank.size()), blank);
  // The source is the text without the numbers; "int main" maps back to its source offset.
  EXPECT_EQ(encode_utf8(prepared.source_text), kCode);
  const std::size_t at = prepared.text.find(U"int main");
  EXPECT_EQ(prepared.map.source_offset(at), std::string(kCode).find("int main"));
  EXPECT_EQ(prepared.map.source_offset(first.size()), std::string(kCode).find("\n\n") + 1);
  const std::vector<std::u32string> lines = drawn_lines(kCode, config);
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[8], U"9" + nb + nb + U"}");
  // Ten lines and more: the numbers are right-aligned with non-breaking spaces.
  document.text = std::string(kCode) + kCode;
  const PreparedDocument longer = prepare_document(document, config);
  EXPECT_EQ(longer.text.substr(0, 4), nb + U"1" + nb + nb);
  EXPECT_NE(longer.text.find(U"\n10" + nb + nb + U"#include"), std::u32string::npos);
}

}  // namespace
}  // namespace glyph
