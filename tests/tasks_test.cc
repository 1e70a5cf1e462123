// Tasks: CER, prompts, citations, and ask / summarize / extract / verify with the real OCR reader
// and against the fake OpenAI-compatible server.
#include "tasks/tasks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "read/vlm_reader.h"
#include "support/fake_vlm_server.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph {
namespace {

const char* kNeedleQuestion =
    "What is the special magic number for fretful-place mentioned in the provided text?";

std::string case_text(const std::string& name) {
  return read_file(test::shared_dir() + "/data/examples/" + name);
}

// The beginning of a text, cut at the end of a sentence near max_bytes.
std::string opening(const std::string& text, size_t max_bytes) {
  const size_t cut = text.rfind(". ", max_bytes);
  return text.substr(0, cut == std::string::npos ? max_bytes : cut + 1);
}

// OCR results of this test binary go to a cache of its own, shared by its tests.
OcrOptions test_ocr_options() {
  OcrOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() /
                       ("glyph-test-" + std::to_string(::getpid())) / "ocr-cache")
                          .string();
  return options;
}

double quote_distance(const RenderedDocument& document, const Citation& citation) {
  const auto cited =
      normalize_for_cer(decode_utf8(document.slice(citation.char_start, citation.char_end)).text);
  const auto quote = normalize_for_cer(decode_utf8(citation.quote).text);
  return static_cast<double>(edit_distance(cited, quote)) / std::max<size_t>(1, quote.size());
}

TEST(cer, normalizes_white_space_and_counts_code_point_edits) {
  EXPECT_EQ(normalize_for_cer(U"  a \n\n b\tc\f d\u3000 "), U"a b c d");
  // Spaces between CJK characters do not count (Tesseract spaces Chinese lines apart per
  // character); between CJK and Latin they stay.
  EXPECT_EQ(normalize_for_cer(U"北 京 是\n首都 ， GDP 增长"), U"北京是首都， GDP 增长");
  EXPECT_EQ(edit_distance(U"kitten", U"sitting"), 3u);
  EXPECT_EQ(edit_distance(U"", U"abc"), 3u);
  EXPECT_EQ(edit_distance(U"\u4E2D\u6587", U"\u4E2D\u6587"), 0u);
  EXPECT_EQ(edit_distance(U"\u201CI\u201D", U"\"|\""), 3u);  // quotes and I/| count
}

TEST(prompt, asks_the_question_after_the_pages_and_wants_a_quote) {
  TaskRequest request;
  request.question = "Who lost the necklace?";
  const std::string prompt = build_prompt(request);
  EXPECT_TRUE(prompt.starts_with("Who lost the necklace?")) << prompt;
  EXPECT_NE(prompt.find("\"> \""), std::string::npos);
  request.task = TaskKind::extraction;
  request.fields = {"due date", "total"};
  EXPECT_NE(build_prompt(request).find("due date, total"), std::string::npos);
  request.task = TaskKind::summary;
  request.summary_sentences = 4;
  EXPECT_NE(build_prompt(request).find("in 4 sentences"), std::string::npos);
}

TEST(citations, resolve_quotes_and_numbers_of_a_free_answer_to_pages_boxes_and_chars) {
  const std::string text = opening(case_text("case3.txt"), 30000) +
                           " The code word of the vault is: amaranth 4471. " +
                           opening(case_text("case3.txt"), 20000);
  const RenderedDocument document(text, preset_config("en"));
  ASSERT_GE(document.page_count(), 4u);
  const auto citations =
      cite_answer(document, "What is the code word of the vault?",
                  "It is amaranth.\n> The code word of the vault is: amaranth 4471.");
  ASSERT_FALSE(citations.empty());
  const auto& c = citations.front();
  EXPECT_EQ(document.slice(c.char_start, c.char_end),
            "The code word of the vault is: amaranth 4471.");
  const size_t page_index = static_cast<size_t>(c.page - 1);
  const auto& page = document.layout().pages.at(page_index);
  EXPECT_GE(c.char_start, page.char_start);
  EXPECT_LT(c.char_start, page.char_end);
  const auto image = document.page_image(page_index);
  EXPECT_GE(c.bbox_px.left_px, 0);
  EXPECT_LT(c.bbox_px.left_px, c.bbox_px.right_px);
  EXPECT_LT(c.bbox_px.top_px, c.bbox_px.bottom_px);
  EXPECT_LE(c.bbox_px.right_px, image->width_px);
  // A number alone is found too; an answer with nothing of the text is not cited.
  const auto by_number = cite_answer(document, "Which number?", "4471");
  ASSERT_EQ(by_number.size(), 1u);
  EXPECT_EQ(document.slice(by_number[0].char_start, by_number[0].char_end), "4471");
  EXPECT_TRUE(cite_answer(document, "Which animal?", "A purple zebra.").empty());
}

TEST(tasks_integration, ocr_summary_of_the_necklace_quotes_sentences_read_off_the_page) {
  const RenderedDocument document(opening(case_text("case1.txt"), 5500), preset_config("en"));
  ASSERT_EQ(document.page_count(), 1u);
  OcrReader reader(test_ocr_options());
  TaskRequest request;
  request.task = TaskKind::summary;
  request.summary_sentences = 3;
  std::string streamed;
  TaskCallbacks callbacks;
  callbacks.on_content = [&](std::string_view piece) { streamed += piece; };
  const Answer answer = run_task(document, request, reader, {}, callbacks);
  EXPECT_EQ(streamed, answer.text);
  EXPECT_TRUE(answer.text.starts_with("Extractive summary (OCR reader, 3 sentences): "))
      << answer.text;
  ASSERT_EQ(answer.citations.size(), 3u);
  size_t previous_start = 0;
  for (const auto& c : answer.citations) {
    EXPECT_EQ(c.page, 1);
    EXPECT_NE(answer.text.find(c.quote), std::string::npos);
    EXPECT_GE(c.char_start, previous_start);
    previous_start = c.char_end;
    // What OCR read matches the text under its box closely.
    EXPECT_LT(quote_distance(document, c), 0.05) << c.quote;
  }
  EXPECT_EQ(answer.reader, "ocr");
  ASSERT_TRUE(answer.visual_tokens.has_value());
  EXPECT_GT(*answer.visual_tokens, 0);
}

TEST(tasks_integration, ocr_extraction_finds_dates_amounts_and_named_fields_with_boxes) {
  const RenderedDocument document(opening(case_text("case1.txt"), 5500), preset_config("en"));
  OcrReader reader(test_ocr_options());
  TaskRequest request;
  request.task = TaskKind::extraction;
  request.fields = {"date", "ministry"};
  const Answer answer = run_task(document, request, reader);
  ASSERT_FALSE(answer.extraction_json.empty());
  const auto j = nlohmann::json::parse(answer.extraction_json);
  EXPECT_NE(j.at("note").get<std::string>().find("OCR reader"), std::string::npos);
  bool january = false;
  for (const auto& date : j.at("dates")) january |= date.at("text") == "Monday, January 18th";
  EXPECT_TRUE(january) << j.at("dates").dump();
  bool francs = false;
  for (const auto& amount : j.at("amounts")) francs |= amount.at("text") == "four hundred francs";
  EXPECT_TRUE(francs) << j.at("amounts").dump();
  EXPECT_EQ(j.at("fields").at("date").at("value"), "Monday, January 18th");
  EXPECT_EQ(j.at("fields").at("date").at("page"), 1);
  const auto box = j.at("fields").at("date").at("bbox_px");
  EXPECT_LT(box.at(0).get<int>(), box.at(2).get<int>());
  EXPECT_NE(j.at("fields").at("ministry").at("value").get<std::string>().find("Ministry"),
            std::string::npos);
}

TEST(tasks_integration, verify_reads_a_short_text_back_with_a_low_error_rate) {
  const std::string text =
      "Invoice 2024-117 was paid on March 3, 2025. The total came to 1,250.50 euros for 12 boxes "
      "of "
      "paper, each weighing 2.5 kg. Questions go to billing@example.com before the end of April.\n"
      "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.";
  const RenderedDocument document(text, preset_config("en"));
  OcrOptions options = test_ocr_options();
  options.use_cache = false;
  const FidelityReport report = verify_round_trip(document, options);
  ASSERT_EQ(report.pages.size(), 1u);
  EXPECT_EQ(report.pages[0].reference_chars, normalize_for_cer(document.text()).size());
  EXPECT_LT(report.cer, 0.02) << report.errors << " errors";
  EXPECT_FALSE(report.pages[0].from_cache);
}

TEST(tasks_integration, openai_backend_sends_pages_then_prompt_streams_and_cites) {
  test::FakeServerOptions server_options;
  server_options.answer.content =
      "The special magic number for fretful-place is 8971465.\n"
      "> One of the special magic numbers for fretful-place is: 8971465.";
  server_options.answer.reasoning = "The needle is on one of the later pages.";
  test::FakeVlmServer server(server_options);
  const RenderedDocument document(case_text("case3.txt"), preset_config("en"));
  VlmReaderOptions options;
  options.base_url = server.url();
  VlmReader reader(options);
  TaskRequest request;
  request.question = kNeedleQuestion;
  std::string streamed, reasoning;
  int pieces = 0;
  TaskCallbacks callbacks;
  callbacks.on_content = [&](std::string_view piece) {
    streamed += piece;
    ++pieces;
  };
  callbacks.on_reasoning = [&](std::string_view piece) { reasoning += piece; };
  const Answer answer = run_task(document, request, reader, {}, callbacks);
  EXPECT_EQ(answer.text, server_options.answer.content);
  EXPECT_EQ(streamed, answer.text);
  EXPECT_GT(pieces, 3);  // it arrived in pieces, as streamed
  EXPECT_EQ(answer.reasoning, server_options.answer.reasoning);
  EXPECT_EQ(reasoning, answer.reasoning);
  // Pages first, then the prompt, as the Glyph evaluation sends them.
  const auto requests = server.requests();
  const test::RecordedRequest* chat = nullptr;
  for (const auto& r : requests) {
    if (r.path.ends_with("/chat/completions")) chat = &r;
  }
  ASSERT_NE(chat, nullptr);
  ASSERT_EQ(chat->images.size(), document.page_count());
  ASSERT_EQ(chat->part_kinds.size(), document.page_count() + 1);
  EXPECT_EQ(chat->part_kinds.back(), "text");
  EXPECT_TRUE(chat->text.starts_with(kNeedleQuestion)) << chat->text;
  // Citations resolved back to the page and characters that hold the quote.
  ASSERT_FALSE(answer.citations.empty());
  const auto& c = answer.citations.front();
  EXPECT_EQ(document.slice(c.char_start, c.char_end),
            "One of the special magic numbers for fretful-place is: 8971465.");
  const auto& page = document.layout().pages.at(static_cast<size_t>(c.page - 1));
  EXPECT_GE(c.char_start, page.char_start);
  EXPECT_LT(c.char_start, page.char_end);
  EXPECT_GT(answer.usage.prompt_tokens, 0);
}

// --- the real binary ---

using CliRun = test::CommandRun;

CliRun run_glyph(const std::string& args, const std::string& env = "") {
  return test::run_command(env + " " + test::binary_dir() + "/glyph " + args);
}

TEST(ask_e2e, ocr_reader_finds_the_needle_of_case3_in_under_a_minute) {
  // An empty cache: the answer is read off the pixels during this run.
  const std::string cache = test::scratch_dir();
  const CliRun run = run_glyph("ask '" + test::shared_dir() + "/data/examples/case3.txt' -q '" +
                                   kNeedleQuestion + "' --json",
                               "XDG_CACHE_HOME='" + cache + "'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_LT(run.seconds, 60.0);
  const auto j = nlohmann::json::parse(run.out);
  const std::string answer = j.at("answer");
  EXPECT_TRUE(answer.starts_with("Extractive answer (OCR reader): ")) << answer;
  EXPECT_NE(answer.find("8971465"), std::string::npos) << answer;
  ASSERT_FALSE(j.at("citations").empty());
  const auto& c = j.at("citations").at(0);
  EXPECT_EQ(c.at("page"), 23);
  EXPECT_NE(c.at("quote").get<std::string>().find("8971465"), std::string::npos);
  EXPECT_LT(j.at("images_read").get<int>(), 25);  // it read regions, not the whole document
  EXPECT_EQ(j.at("pages"), 25);
  EXPECT_TRUE(std::filesystem::exists(cache + "/glyph/ocr"));
}

TEST(ask_e2e, openai_backend_through_the_cli_streams_the_answer_and_resolves_citations) {
  test::FakeServerOptions server_options;
  server_options.answer.content =
      "8971465\n> One of the special magic numbers for fretful-place is: 8971465.";
  test::FakeVlmServer server(server_options);
  const std::string input = "'" + test::shared_dir() + "/data/examples/case3.txt'";
  const CliRun plain =
      run_glyph("ask " + input + " -q 'What is the magic number?' --url " + server.url());
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_TRUE(plain.out.starts_with(server_options.answer.content)) << plain.out;
  EXPECT_NE(plain.out.find("Citations:"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("page 23"), std::string::npos) << plain.out;

  const CliRun json = run_glyph("ask " + input + " -q 'What is the magic number?' --json",
                                "GLYPH_VLM_URL=" + server.url());
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j.at("answer"), server_options.answer.content);
  EXPECT_EQ(j.at("reader").get<std::string>().rfind("openai:", 0), 0u);
  ASSERT_FALSE(j.at("citations").empty());
  EXPECT_EQ(j.at("citations").at(0).at("page"), 23);
  EXPECT_EQ(j.at("images_read"), 25);

  const CliRun no_server = run_glyph("ask " + input + " -q 'x' --backend openai");
  EXPECT_EQ(no_server.exit_code, 1);
  EXPECT_NE(no_server.err.find("--url"), std::string::npos) << no_server.err;
}

TEST(ask_e2e, verify_reports_the_error_rate_per_page_and_fails_above_max_cer) {
  const std::string dir = test::scratch_dir();
  write_file(dir + "/short.txt", opening(case_text("case1.txt"), 1500));
  const CliRun run = run_glyph("verify '" + dir + "/short.txt' -c en --json",
                               "XDG_CACHE_HOME='" + dir + "/cache'");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  ASSERT_EQ(j.at("pages").size(), 1u);
  EXPECT_LT(j.at("cer").get<double>(), 0.02);
  EXPECT_EQ(j.at("dpi"), 72);
  // The same run with an impossible bound fails with a message naming it (from the cache now).
  const CliRun strict = run_glyph("verify '" + dir + "/short.txt' -c en --max-cer 0",
                                  "XDG_CACHE_HOME='" + dir + "/cache'");
  const bool any_error = j.at("errors").get<int>() > 0;
  EXPECT_EQ(strict.exit_code, any_error ? 1 : 0) << strict.err;
  EXPECT_EQ(strict.err.find("--max-cer") != std::string::npos, any_error) << strict.err;
  EXPECT_NE(strict.out.find("cached"), std::string::npos) << strict.out;
}

}  // namespace
}  // namespace glyph
