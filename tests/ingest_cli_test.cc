// The glyph binary reads every format through its INPUT flags.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/file.h"
#include "support/ingest_fixtures.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph {
namespace {

using CliRun = test::CommandRun;

CliRun run_glyph(const std::string& args, const std::string& stdin_file = "") {
  return test::run_glyph(args + (stdin_file.empty() ? "" : " <" + stdin_file));
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ingest_cli_e2e, text_reads_pdf_with_verbose_report) {
  const CliRun run = run_glyph("text '" + test::ingest_fixture("scanned.pdf") + "' --verbose");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "Page one has text.")) << run.out;
  EXPECT_TRUE(contains(run.err, "format pdf, 4 pages")) << run.err;
  EXPECT_TRUE(contains(run.err, "warning: ")) << run.err;
  EXPECT_TRUE(contains(run.err, "page(s) 2, 4 have no text")) << run.err;
}

TEST(ingest_cli_e2e, text_reads_docx_and_legacy_encodings) {
  // --reflow off: the text as ingest reads it (the presets' reflow packs these lines).
  const CliRun docx = run_glyph("text '" + test::ingest_fixture("basic.docx") + "' --reflow off");
  ASSERT_EQ(docx.exit_code, 0) << docx.err;
  EXPECT_TRUE(contains(docx.out, "1. Step one\n2. Step two\n  a) Detail a")) << docx.out;

  const CliRun big5 = run_glyph("text '" + test::ingest_fixture("big5.txt") + "' -v");
  ASSERT_EQ(big5.exit_code, 0) << big5.err;
  EXPECT_TRUE(contains(big5.err, "encoding BIG5")) << big5.err;
  EXPECT_EQ(big5.out, read_file(test::ingest_fixture("expected_zh_tw.txt")));
}

TEST(ingest_cli_e2e, password_and_encoding_flags) {
  const std::string pdf = "'" + test::ingest_fixture("encrypted.pdf") + "'";
  const CliRun locked = run_glyph("text " + pdf);
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_TRUE(contains(locked.err, "error: ")) << locked.err;
  EXPECT_TRUE(contains(locked.err, "encrypted; pass its password with --password")) << locked.err;
  const CliRun open = run_glyph("text " + pdf + " --password secret");
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_EQ(open.out, "Secret text inside.");

  const std::string dir = test::scratch_dir();
  write_file(dir + "/menu.txt", "caf\xE9");
  const CliRun latin1 = run_glyph("text '" + dir + "/menu.txt' --encoding latin1");
  ASSERT_EQ(latin1.exit_code, 0) << latin1.err;
  EXPECT_EQ(latin1.out, "caf\xC3\xA9");
}

TEST(ingest_cli_e2e, standard_input_with_a_format) {
  const std::string dir = test::scratch_dir();
  write_file(dir + "/page", "<p>Hello <i>there</i></p><script>x()</script><p>Bye</p>");
  const CliRun run = run_glyph("text - --format html --reflow off", dir + "/page");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "Hello there\n\nBye");
  const CliRun bad = run_glyph("text - --format rtf", dir + "/page");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "unknown format 'rtf'")) << bad.err;
}

TEST(ingest_cli_e2e, tokenize_counts_the_text_of_a_document) {
  const CliRun pdf = run_glyph("tokenize '" + test::ingest_fixture("simple.pdf") + "'");
  ASSERT_EQ(pdf.exit_code, 0) << pdf.err;
  const std::string dir = test::scratch_dir();
  write_file(dir + "/same.txt",
             "First page of the report.\nIt has two lines.\f"
             "Second page: the final flow of effort.\nA hyphenation joined.\f"
             "Third page ends here.");
  const CliRun text = run_glyph("tokenize '" + dir + "/same.txt'");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(pdf.out, text.out);
  EXPECT_GT(std::stoi(pdf.out), 20);
}

TEST(ingest_cli_e2e, render_starts_a_page_for_each_pdf_page) {
  const std::string dir = test::scratch_dir();
  const CliRun run = run_glyph("render '" + test::ingest_fixture("simple.pdf") + "' -o '" + dir +
                               "/pages' --json -q --reflow off");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(contains(run.out, "\"pages\": 3")) << run.out;
  EXPECT_TRUE(std::filesystem::exists(dir + "/pages/page_003.png"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/pages/page_004.png"));
  // The presets' reflow (auto) flows the three short pages onto one (docs/reflow.md).
  const CliRun flowed = run_glyph("render '" + test::ingest_fixture("simple.pdf") + "' -o '" + dir +
                                  "/flowed' --json -q");
  ASSERT_EQ(flowed.exit_code, 0) << flowed.err;
  EXPECT_TRUE(contains(flowed.out, "\"pages\": 1")) << flowed.out;

  const CliRun docx = run_glyph("render '" + test::ingest_fixture("basic.docx") + "' -o '" + dir +
                                "/docx' --json -q");
  ASSERT_EQ(docx.exit_code, 0) << docx.err;
  EXPECT_TRUE(contains(docx.out, "\"pages\": 1")) << docx.out;
}

TEST(ingest_cli_e2e, text_is_nfc_normalized_by_default) {
  const std::string dir = test::scratch_dir();
  write_file(dir + "/decomposed.txt", "Cafe\xCC\x81 \xEF\xAC\x81");  // e + U+0301, U+FB01
  const CliRun nfc = run_glyph("text '" + dir + "/decomposed.txt'");
  ASSERT_EQ(nfc.exit_code, 0) << nfc.err;
  EXPECT_EQ(nfc.out, "Caf\xC3\xA9 \xEF\xAC\x81");  // composed; the ligature stays under NFC
}

}  // namespace
}  // namespace glyph
