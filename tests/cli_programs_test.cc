// The two programs of the command-line tool (tools/glyph/commands.h): `glyph` links only the
// rendering path's libraries and hands other work to `glyph-full` beside it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/file.h"
#include "support/fake_vlm_server.h"
#include "support/ingest_fixtures.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph {
namespace {

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

TEST(cli_programs_e2e, glyph_links_none_of_the_heavy_libraries_and_glyph_full_all) {
  const test::CommandRun lean =
      test::run_command("readelf -d " + quoted(test::binary_dir() + "/glyph"));
  ASSERT_EQ(lean.exit_code, 0) << lean.err;
  EXPECT_NE(lean.out.find("libfreetype"), std::string::npos) << lean.out;
  for (const char* heavy : {"libtesseract", "libpoppler", "libcurl", "libsqlite3", "libzip",
                            "libcpp-httplib", "liblept"}) {
    EXPECT_EQ(lean.out.find(heavy), std::string::npos) << heavy << " in\n" << lean.out;
  }
  const test::CommandRun full =
      test::run_command("readelf -d " + quoted(test::binary_dir() + "/glyph-full"));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  for (const char* heavy : {"libtesseract", "libpoppler", "libcurl", "libsqlite3"}) {
    EXPECT_NE(full.out.find(heavy), std::string::npos) << heavy;
  }
}

TEST(cli_programs_e2e, full_only_commands_are_handed_over_with_their_own_help) {
  const std::string glyph = quoted(test::binary_dir() + "/glyph");
  const test::CommandRun help = test::run_command(glyph + " ask --help");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("--question"), std::string::npos) << help.out;
  const test::CommandRun all = test::run_command(glyph + " --help-all");
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("--max-cer"), std::string::npos) << all.out;  // verify's flag
  const test::CommandRun top = test::run_command(glyph + " --help");
  ASSERT_EQ(top.exit_code, 0) << top.err;
  for (const char* command : {"render", "serve", "ask", "summarize", "extract", "verify"}) {
    EXPECT_NE(top.out.find(std::string("\n  ") + command + " "), std::string::npos) << command;
  }
}

TEST(cli_programs_e2e, a_pdf_on_standard_input_reaches_glyph_full_intact) {
  const std::string glyph = quoted(test::binary_dir() + "/glyph");
  const std::string pdf = quoted(test::ingest_fixture("scanned.pdf"));
  const test::CommandRun by_path = test::run_command(glyph + " text " + pdf);
  ASSERT_EQ(by_path.exit_code, 0) << by_path.err;
  ASSERT_NE(by_path.out.find("Page one has text."), std::string::npos) << by_path.out;
  const test::CommandRun redirected = test::run_command(glyph + " text - <" + pdf);
  ASSERT_EQ(redirected.exit_code, 0) << redirected.err;
  EXPECT_EQ(redirected.out, by_path.out);
  const test::CommandRun piped =
      test::run_command("cat " + pdf + " | " + glyph + " text -");  // a pipe cannot be re-read
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, by_path.out);
}

TEST(cli_programs_e2e, glyph_without_glyph_full_says_what_is_missing) {
  const std::string dir = test::scratch_dir() + "/alone";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(test::binary_dir() + "/glyph", dir + "/glyph");
  const std::string glyph = quoted(dir + "/glyph");
  const test::CommandRun version = test::run_command(glyph + " version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  const test::CommandRun pdf =
      test::run_command(glyph + " text " + quoted(test::ingest_fixture("scanned.pdf")));
  EXPECT_EQ(pdf.exit_code, 1);
  EXPECT_NE(pdf.err.find("needs glyph-full"), std::string::npos) << pdf.err;
  EXPECT_NE(pdf.err.find(dir + "/glyph-full"), std::string::npos) << pdf.err;
  const test::CommandRun ask = test::run_command(glyph + " ask x.txt -q what");
  EXPECT_EQ(ask.exit_code, 1);
  EXPECT_NE(ask.err.find("needs glyph-full"), std::string::npos) << ask.err;
}

// A model in a repetition loop: stopped, asked again with a penalty, reported in --json.
TEST(cli_programs_e2e, ask_reports_a_repetition_loop_in_its_json) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.loop = " A diamond necklace.";
  test::FakeVlmServer fake(fake_options);
  const std::string input = test::scratch_dir() + "/story.txt";
  write_file(input, "Mathilde borrowed a diamond necklace from Madame Forestier.\n");
  const test::CommandRun run =
      test::run_glyph("ask --backend openai --json --url " + fake.url() + " -q " +
                      quoted("What did Mathilde borrow?") + " " + quoted(input));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto parsed = nlohmann::json::parse(run.out);
  EXPECT_EQ(parsed["answer"], "A diamond necklace.");
  EXPECT_EQ(parsed["finish_reason"], "stop");
  ASSERT_TRUE(parsed.contains("repetition")) << run.out;
  EXPECT_EQ(parsed["repetition"]["where"], "content");
  EXPECT_EQ(parsed["repetition"]["period_bytes"], 20);
  EXPECT_EQ(parsed["repetition"]["retry_field"], "repetition_penalty");
  EXPECT_EQ(parsed["repetition"]["retry_looped"], false);
  EXPECT_EQ(fake.chat_requests(), 2);
}

}  // namespace
}  // namespace glyph

namespace glyph {
namespace {

// --api anthropic: the Messages API, with its key header and the thinking kept apart.
TEST(cli_programs_e2e, ask_speaks_the_anthropic_messages_api) {
  test::FakeServerOptions fake_options;
  fake_options.api_key = "sk-ant-cli";
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.reasoning = "The first line says it.";
  test::FakeVlmServer fake(fake_options);
  const std::string input = test::scratch_dir() + "/story.txt";
  write_file(input, "Mathilde borrowed a diamond necklace from Madame Forestier.\n");
  const test::CommandRun run = test::run_glyph(
      "ask --api anthropic --api-key sk-ant-cli --thinking-budget 1024 --json --url " + fake.url() +
      " --model " + fake.model() + " -q " + quoted("What did Mathilde borrow?") + " " +
      quoted(input));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto parsed = nlohmann::json::parse(run.out);
  EXPECT_EQ(parsed["answer"], "A diamond necklace.");
  EXPECT_EQ(parsed["reasoning"], "The first line says it.");
  // The model's context is asked first (GET /v1/models, docs/budget.md), then one Messages
  // request; both with the key header.
  std::vector<test::RecordedRequest> messages;
  for (const auto& request : fake.requests()) {
    if (request.path == "/v1/messages")
      messages.push_back(request);
    else
      EXPECT_EQ(request.path, "/v1/models");
    EXPECT_EQ(request.headers.at("x-api-key"), "sk-ant-cli") << request.path;
  }
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(messages[0].body)["thinking"]["budget_tokens"], 1024);
  // The OCR backend cannot speak it.
  const test::CommandRun wrong =
      test::run_glyph("ask --api anthropic --backend ocr -q what " + quoted(input));
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("--api anthropic"), std::string::npos) << wrong.err;
}

// A model that closes a <think> its chat template opened: with stdout not a terminal the answer
// is held and written whole, so a pipe gets the answer only and the reasoning goes to stderr.
TEST(cli_programs_e2e, ask_keeps_unopened_think_reasoning_out_of_a_piped_answer) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.reasoning = "The question asks what was borrowed.";
  fake_options.answer.reasoning_style = test::ReasoningStyle::think_close_only;
  test::FakeVlmServer fake(fake_options);
  const std::string input = test::scratch_dir() + "/story.txt";
  write_file(input, "Mathilde borrowed a diamond necklace from Madame Forestier.\n");
  const std::string args = "ask --backend openai --url " + fake.url() + " -q " +
                           quoted("What did Mathilde borrow?") + " " + quoted(input);
  const test::CommandRun plain = test::run_glyph(args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.rfind("A diamond necklace.\n", 0), 0u) << plain.out;
  EXPECT_EQ(plain.out.find("borrowed."), std::string::npos) << plain.out;
  EXPECT_NE(plain.err.find("The question asks what was borrowed."), std::string::npos) << plain.err;
  const test::CommandRun json_run = test::run_glyph(args + " --json");
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const auto parsed = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(parsed["answer"], "A diamond necklace.");
  EXPECT_EQ(parsed["reasoning"], "The question asks what was borrowed.");
}

}  // namespace
}  // namespace glyph
