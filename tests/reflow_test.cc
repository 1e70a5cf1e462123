// The reflow stage: golden cases per rule (tests/golden/reflow/*.txt), the source map, the `off`
// mode, word order on real documents, and citations naming the source page of a flowed PDF.
#include "reflow/reflow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "ingest/ingest.h"
#include "support/paths.h"
#include "tasks/tasks.h"
#include "text/prepare.h"

namespace glyph {
namespace {

struct GoldenCase {
  std::string name;
  ReflowMode mode = ReflowMode::automatic;
  bool pdf = false;
  std::size_t line_chars = 0;
  std::string input, expected;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// "# comment" lines, "key: value" lines, then "=== input" and "=== expected" sections; <FF> in a
// section is a form feed.
GoldenCase read_golden(const std::filesystem::path& path) {
  GoldenCase c;
  c.name = path.filename().string();
  const std::string file = read_file(path.string());
  const std::size_t input_at = file.find("=== input\n");
  const std::size_t expected_at = file.find("\n=== expected\n");
  EXPECT_NE(input_at, std::string::npos) << c.name;
  EXPECT_NE(expected_at, std::string::npos) << c.name;
  std::istringstream header(file.substr(0, input_at));
  for (std::string line; std::getline(header, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t colon = line.find(": ");
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "mode")
      c.mode = parse_reflow_mode(value);
    else if (key == "format")
      c.pdf = value == "pdf";
    else if (key == "line-chars")
      c.line_chars = std::stoul(value);
    else
      ADD_FAILURE() << c.name << ": unknown key " << key;
  }
  c.input = replace_all(file.substr(input_at + 10, expected_at - input_at - 10), "<FF>", "\f");
  std::string expected = file.substr(expected_at + 14);
  if (!expected.empty() && expected.back() == '\n') expected.pop_back();
  c.expected = replace_all(expected, "<FF>", "\f");
  return c;
}

Document document_of(const std::string& text, bool pdf) {
  Document d;
  d.text = text;
  d.format = pdf ? "pdf" : "txt";
  if (pdf) {
    d.page_starts.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\f') d.page_starts.push_back(i + 1);
    d.page_count = static_cast<int>(d.page_starts.size());
  }
  return d;
}

ReflowResult reflow_case(const GoldenCase& c) {
  const std::u32string text = decode_utf8(c.input).text;
  ReflowInput input;
  input.text = text;
  input.rendered_line_chars = c.line_chars;
  const Document d = document_of(c.input, c.pdf);
  for (std::size_t at : d.page_starts)
    input.page_starts.push_back(decode_utf8(c.input.substr(0, at)).text.size());
  ReflowResult result = reflow_text(input, c.mode);
  // The map: every copied character is the source character it points to.
  for (const SourceMap::Segment& s : result.map.segments()) {
    if (s.inserted) continue;
    EXPECT_EQ(result.text.substr(s.output_start, s.length), text.substr(s.source_start, s.length))
        << c.name;
  }
  return result;
}

TEST(reflow_golden, every_rule_gives_its_expected_text) {
  const std::string dir = test::source_dir() + "/tests/golden/reflow";
  std::size_t cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    const GoldenCase c = read_golden(entry.path());
    EXPECT_EQ(encode_utf8(reflow_case(c).text), c.expected) << c.name;
    ++cases;
  }
  EXPECT_GE(cases, 8u);
}

TEST(reflow, off_is_the_prepared_text_unchanged) {
  const std::string text = "one\r\ntwo\tthree\n\nfour\fpage two\n";
  RenderConfig config = preset_config("en");
  config.reflow = ReflowMode::off;
  for (bool pdf : {false, true}) {
    const PreparedDocument p = prepare_document(document_of(text, pdf), config);
    EXPECT_EQ(p.text, prepare_text(text, config).text);
    EXPECT_EQ(p.reflow.blocks.size(), 0u);
    EXPECT_EQ(p.map.source_offset(5), 5u);
  }
  // A config file without the key is off; the presets are auto.
  EXPECT_EQ(parse_config_json("{}", "/").reflow, ReflowMode::off);
  EXPECT_EQ(preset_config("en").reflow, ReflowMode::automatic);
  EXPECT_EQ(parse_config_json(R"({"reflow": "on"})", "/").reflow, ReflowMode::on);
  EXPECT_THROW(parse_config_json(R"({"reflow": "yes"})", "/"), Error);
  EXPECT_NE(config_to_json(preset_config("en")).find("\"reflow\": \"auto\""), std::string::npos);
}

TEST(reflow, the_report_counts_blocks_by_kind_and_action) {
  GoldenCase c;
  c.input = "int main(void) {\n  int x = 1;\n  return x;\n}\n";
  const ReflowResult r = reflow_case(c);
  EXPECT_EQ(r.report.count(ReflowKind::code, ReflowAction::packed), 1u);
  EXPECT_EQ(r.report.lines_packed, 3u);
  EXPECT_NE(r.report.summary().find("packed (code 1)"), std::string::npos) << r.report.summary();
}

TEST(dehyphenation, keeps_compounds_and_follows_the_documents_own_spelling) {
  EXPECT_FALSE(dehyphenate_keeps_hyphen(U"exam", U"ple", U""));
  EXPECT_TRUE(dehyphenate_keeps_hyphen(U"well", U"known", U""));
  EXPECT_TRUE(dehyphenate_keeps_hyphen(U"Jean", U"Paul", U""));
  EXPECT_TRUE(dehyphenate_keeps_hyphen(U"run", U"time", U"the run-time library"));
  EXPECT_FALSE(dehyphenate_keeps_hyphen(U"run", U"time", U"the runtime library"));
  EXPECT_TRUE(dehyphenate_keeps_hyphen(U"co", U"operate", U"we co-operate"));
}

// Letters and digits of a text, in order, with the reflow's markers removed: equal for the source
// and the output when no word was lost, added or reordered.
std::string word_stream(const std::string& text) {
  std::string out;
  const std::string cleaned = std::regex_replace(text, std::regex("\\[p\\.[0-9]+\\] "), "");
  for (char c : cleaned)
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return out;
}

TEST(reflow_integration, keeps_every_word_in_order_on_real_documents) {
  std::vector<std::string> texts;
  for (const char* path :
       {"/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"})
    if (std::filesystem::exists(path)) texts.push_back(read_file(path));
  texts.push_back(read_file(test::shared_dir() + "/data/examples/case1.txt"));
  texts.push_back(read_file(test::source_dir() + "/README.md"));
  for (ReflowMode mode : {ReflowMode::automatic, ReflowMode::on}) {
    for (const std::string& text : texts) {
      RenderConfig config = preset_config("en");
      config.reflow = mode;
      const PreparedDocument p = prepare_document(document_of(text, false), config);
      const std::string source = encode_utf8(prepare_text(text, config).text);
      const std::string output = encode_utf8(p.text);
      EXPECT_EQ(word_stream(output), word_stream(source));
      EXPECT_LE(p.text.size(), source.size() + source.size() / 20);
    }
  }
}

TEST(reflow, citations_of_a_flowed_pdf_name_the_source_page) {
  std::string text;
  for (int page = 1; page <= 6; ++page) {
    if (page > 1) text += "\f";
    for (int line = 0; line < 30; ++line)
      text += "Page " + std::to_string(page) + " holds this line of ordinary words, line " +
              std::to_string(line) + " of the page, wrapped by the printer.\n";
    if (page == 4) text += "The code word of the vault is amaranth 4471.\n";
  }
  const Document pdf = document_of(text, true);
  const RenderedDocument document(pdf, preset_config("en"));
  EXPECT_LT(document.page_count(), 6u);  // the pages flowed
  const auto citations =
      cite_answer(document, "What is the code word?", "> The code word of the vault is amaranth");
  ASSERT_FALSE(citations.empty());
  EXPECT_EQ(citations.front().source_page, 4);
  EXPECT_EQ(document.source_page(0), 1);
  EXPECT_EQ(document.source_page(document.text().size() - 1), 6);
  // Without reflow the source page is still known (the text is unchanged).
  RenderConfig off = preset_config("en");
  off.reflow = ReflowMode::off;
  const RenderedDocument unflowed(pdf, off);
  EXPECT_EQ(unflowed.page_count(), 6u);
  EXPECT_EQ(cite_answer(unflowed, "What is the code word?", "> The code word of the vault is")
                .front()
                .source_page,
            4);
}

}  // namespace
}  // namespace glyph
