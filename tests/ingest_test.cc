#include "ingest/ingest.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/file.h"
#include "ingest/detail.h"
#include "reflow/reflow.h"
#include "support/ingest_fixtures.h"
#include "support/paths.h"

namespace glyph {
namespace {

using test::ingest_fixture;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Document ingest(const std::string& fixture, IngestOptions options = {}) {
  return ingest_file(ingest_fixture(fixture), options);
}

// "kind:text" for each block, and a check that blocks are in order, apart, and cover every
// character of the text but the line breaks between them.
std::vector<std::string> blocks_of(const Document& doc) {
  static const char* const kNames[] = {"paragraph", "heading", "list_item", "code",
                                       "table_row", "quote",   "rule"};
  std::vector<std::string> out;
  size_t covered = 0;
  for (const TextBlock& b : doc.blocks) {
    EXPECT_LE(covered, b.begin) << "blocks overlap or are out of order";
    EXPECT_LT(b.begin, b.end);
    EXPECT_LE(b.end, doc.text.size());
    if (covered > b.begin || b.end > doc.text.size()) break;
    EXPECT_EQ(doc.text.substr(covered, b.begin - covered).find_first_not_of('\n'),
              std::string::npos)
        << "text outside every block before " << doc.text.substr(b.begin, b.end - b.begin);
    out.push_back(std::string(kNames[static_cast<int>(b.kind)]) + ":" +
                  doc.text.substr(b.begin, b.end - b.begin));
    covered = b.end;
  }
  EXPECT_EQ(covered, doc.text.size()) << "text after the last block";
  return out;
}

struct Outcome {
  bool threw = false;
  ErrorCode code = ErrorCode::internal;
  std::string message;  // the error message, or the text read
  double seconds = 0;
  long peak_rss_kb = 0;
};

// Reads a document in a child process under a time limit and reports the peak memory of the
// child, so that a hang or a blow-up fails the test instead of taking the suite down.
Outcome ingest_in_child(const std::string& path, const IngestOptions& options,
                        int time_limit_s = 30) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::alarm(static_cast<unsigned>(time_limit_s));
    std::string report;
    try {
      const Document doc = ingest_file(path, options);
      report = "ok\n" + doc.text.substr(0, 4096);
    } catch (const Error& e) {
      report = std::string(to_string(e.code())) + "\n" + e.what();
    } catch (const std::exception& e) {
      report = std::string("exception\n") + e.what();
    }
    const char* p = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  Outcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.peak_rss_kb = usage.ru_maxrss;
  EXPECT_TRUE(WIFEXITED(status)) << path << ": the child died (signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
  const size_t newline = report.find('\n');
  const std::string kind = report.substr(0, newline);
  out.message = newline == std::string::npos ? "" : report.substr(newline + 1);
  out.threw = kind != "ok";
  EXPECT_NE(kind, "exception") << out.message;
  static const ErrorCode kCodes[] = {ErrorCode::invalid_argument, ErrorCode::invalid_input,
                                     ErrorCode::unsupported,      ErrorCode::limit_exceeded,
                                     ErrorCode::not_found,        ErrorCode::io};
  for (const ErrorCode code : kCodes) {
    if (kind == to_string(code)) out.code = code;
  }
  return out;
}

// A hostile file: a clear error of the given code whose message names the file and says why,
// within the time limit and under 1 GiB of memory.
void expect_clean_error(const std::string& fixture, ErrorCode code, const std::string& why,
                        const IngestOptions& options = {}) {
  const std::string path = ingest_fixture(fixture);
  const Outcome out = ingest_in_child(path, options);
  EXPECT_TRUE(out.threw) << fixture << " was read: " << out.message.substr(0, 200);
  EXPECT_EQ(out.code, code) << out.message;
  EXPECT_TRUE(contains(out.message, fixture)) << out.message;
  EXPECT_TRUE(contains(out.message, why)) << out.message;
  EXPECT_LT(out.seconds, 20.0) << fixture;
  EXPECT_LT(out.peak_rss_kb, 1024L * 1024) << fixture;
}

// ---------------------------------------------------------------- detection

TEST(ingest_detect, content_wins_over_the_extension) {
  EXPECT_EQ(detect_format("%PDF-1.4\n...", "notes.txt"), "pdf");
  EXPECT_EQ(detect_format("<!DOCTYPE html><p>x", "page.txt"), "html");
  EXPECT_EQ(detect_format("  <html><body>x", ""), "html");
  EXPECT_EQ(detect_format("# Title\n\ntext", "notes.md"), "markdown");
  EXPECT_EQ(detect_format("# Title\n\ntext", "notes.txt"), "txt");  // Markdown only by name
  EXPECT_EQ(detect_format("plain", "x.pdf"), "txt");
  EXPECT_EQ(detect_format(std::string_view("PK\x03\x04rest", 8), "x.docx"), "zip");
}

TEST(ingest_detect, parses_format_names) {
  EXPECT_EQ(parse_format_name("MD"), "markdown");
  EXPECT_EQ(parse_format_name("text"), "txt");
  EXPECT_THROW(parse_format_name("rtf"), Error);
  EXPECT_EQ(parse_pdf_page_separator("marker"), PdfPageSeparator::marker);
  EXPECT_THROW(parse_pdf_page_separator("x"), Error);
}

TEST(ingest_detect, lying_extensions_are_read_by_content_with_a_warning) {
  const Document pdf = ingest("simple_really.docx");
  EXPECT_EQ(pdf.format, "pdf");
  EXPECT_TRUE(contains(pdf.text, "Third page ends here."));
  ASSERT_FALSE(pdf.warnings.empty());
  EXPECT_TRUE(contains(pdf.warnings[0], "extension says docx")) << pdf.warnings[0];

  const Document docx = ingest("basic_really.pdf");
  EXPECT_EQ(docx.format, "docx");
  EXPECT_TRUE(contains(docx.text, "Title of the contract"));

  const Document html = ingest("page_really.txt");
  EXPECT_EQ(html.format, "html");
  EXPECT_EQ(html.text, "Hello HTML");

  const Document text = ingest("text_really.pdf");
  EXPECT_EQ(text.format, "txt");
  EXPECT_EQ(text.text, "Just plain text, not a PDF at all.\n");
}

TEST(ingest_detect, format_override_wins) {
  IngestOptions options;
  options.format_override = "txt";
  const Document doc = ingest_bytes("<html><body><p>x</p></body></html>", "a.html", options);
  EXPECT_EQ(doc.format, "txt");
  EXPECT_EQ(doc.text, "<html><body><p>x</p></body></html>");
}

TEST(ingest_detect, zip_without_a_word_document_is_unsupported) {
  expect_clean_error("not_word.zip", ErrorCode::unsupported, "not a DOCX");
}

TEST(ingest_detect, legacy_ole_files_are_named) {
  try {
    ingest_bytes(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + std::string(100, '\0'),
                 "old.doc", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::unsupported);
    EXPECT_TRUE(contains(e.what(), "legacy .doc")) << e.what();
  }
}

TEST(ingest_detect, input_over_the_size_limit_is_refused_before_reading) {
  IngestOptions options;
  options.limits.max_input_bytes = 1000;
  try {
    ingest(std::string("simple.pdf"), options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::limit_exceeded);
    EXPECT_TRUE(contains(e.what(), "limit of 1000 bytes")) << e.what();
  }
}

// ---------------------------------------------------------------- text encodings

struct EncodingCase {
  const char* file;
  const char* expected_file;
  const char* encoding;
};

TEST(ingest_text, detects_and_converts_every_supported_encoding) {
  const EncodingCase cases[] = {
      {"utf8_bom.txt", "expected_fr.txt", "UTF-8 (BOM)"},
      {"utf16le_bom.txt", "expected_fr.txt", "UTF-16LE"},
      {"utf16be_bom.txt", "expected_zh.txt", "UTF-16BE"},
      {"utf16le_nobom.txt", "expected_fr.txt", "UTF-16LE"},
      {"utf16be_nobom.txt", "expected_fr.txt", "UTF-16BE"},
      {"utf16le_nobom_zh.txt", "expected_zh.txt", "UTF-16LE"},
      {"gb18030.txt", "expected_zh.txt", "GB18030"},
      {"big5.txt", "expected_zh_tw.txt", "BIG5"},
      {"shift_jis.txt", "expected_ja.txt", "SHIFT_JIS"},
      {"latin1.txt", "expected_fr_latin1.txt", ""},  // ISO-8859-1 or WINDOWS-1252: same letters
      {"cp1252.txt", "expected_en_1252.txt", "WINDOWS-1252"},
  };
  for (const EncodingCase& c : cases) {
    const Document doc = ingest(c.file);
    EXPECT_EQ(doc.format, "txt") << c.file;
    EXPECT_EQ(doc.text, read_file(ingest_fixture(c.expected_file))) << c.file;
    if (*c.encoding) {
      EXPECT_EQ(doc.encoding, c.encoding) << c.file;
    }
    EXPECT_TRUE(doc.warnings.empty()) << c.file << ": " << doc.warnings[0];
  }
}

TEST(ingest_text, encoding_override_is_obeyed) {
  IngestOptions options;
  options.encoding_override = "latin-1";
  const Document doc = ingest_bytes("caf\xE9", "menu.txt", options);
  EXPECT_EQ(doc.text, "caf\xC3\xA9");
  EXPECT_EQ(doc.encoding, "ISO-8859-1");
  options.encoding_override = "gbk";
  EXPECT_EQ(ingest_bytes("\xD6\xD0\xCE\xC4", "zh.txt", options).text, "中文");
}

TEST(ingest_text, unknown_encoding_override_is_a_clear_error) {
  IngestOptions options;
  options.encoding_override = "klingon-8";
  try {
    ingest_bytes("abc", "a.txt", options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
    EXPECT_TRUE(contains(e.what(), "unknown encoding 'KLINGON-8'")) << e.what();
  }
}

TEST(ingest_text, binary_data_is_refused_with_a_hint) {
  expect_clean_error("binary.txt", ErrorCode::invalid_input, "--encoding");
}

TEST(ingest_text, mostly_utf8_with_bad_bytes_stays_utf8_for_the_renderer_to_replace) {
  const std::string bytes = "中文 text with one bad byte \xFF here and é";
  const Document doc = ingest_bytes(bytes, "a.txt", {});
  EXPECT_EQ(doc.encoding, "UTF-8");
  EXPECT_EQ(doc.text, bytes);
}

TEST(ingest_text, nul_bytes_in_the_middle_do_not_truncate) {
  const std::string bytes("before\0after, a longer line of ordinary text", 45);
  const Document doc = ingest_bytes(bytes, "a.txt", {});
  EXPECT_EQ(doc.text, bytes);
}

TEST(ingest_text, conversion_replaces_bytes_outside_the_encoding_and_warns) {
  IngestOptions options;
  options.encoding_override = "shift_jis";
  const Document doc = ingest_bytes("ok \x81\x20 end", "a.txt", options);
  EXPECT_TRUE(contains(doc.text, "\xEF\xBF\xBD")) << doc.text;
  EXPECT_TRUE(contains(doc.text, "end"));
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_TRUE(contains(doc.warnings[0], "became U+FFFD")) << doc.warnings[0];
}

// ---------------------------------------------------------------- PDF

TEST(ingest_pdf, pages_in_order_with_form_feeds_ligatures_and_hyphens) {
  const Document doc = ingest("simple.pdf");
  EXPECT_EQ(doc.format, "pdf");
  EXPECT_EQ(doc.page_count, 3);
  EXPECT_EQ(doc.text,
            "First page of the report.\nIt has two lines.\f"
            "Second page: the final flow of effort.\nA hyphenation joined.\f"
            "Third page ends here.");
  ASSERT_EQ(doc.page_starts.size(), 3u);
  EXPECT_EQ(doc.page_starts[0], 0u);
  EXPECT_EQ(doc.text.substr(doc.page_starts[1], 12), "Second page:");
  EXPECT_EQ(doc.text.substr(doc.page_starts[2], 5), "Third");
  EXPECT_TRUE(doc.warnings.empty());
}

TEST(ingest_pdf, page_separator_modes) {
  IngestOptions options;
  options.pdf_page_separator = PdfPageSeparator::marker;
  const Document marked = ingest("simple.pdf", options);
  EXPECT_TRUE(contains(marked.text, "lines.\n--- page 2 ---\nSecond")) << marked.text;
  EXPECT_EQ(marked.text.substr(marked.page_starts[2], 5), "Third");
  options.pdf_page_separator = PdfPageSeparator::newline;
  const Document plain = ingest("simple.pdf", options);
  EXPECT_TRUE(contains(plain.text, "lines.\n\nSecond")) << plain.text;
  EXPECT_FALSE(contains(plain.text, "\f"));
}

TEST(ingest_pdf, chinese_text) {
  const Document doc = ingest("chinese.pdf");
  EXPECT_EQ(doc.text, "中文测试：字形渲染长文本。\n第二行内容。\f第二页。");
}

TEST(ingest_pdf, scanned_pages_are_named_in_a_warning) {
  const Document doc = ingest("scanned.pdf");
  EXPECT_EQ(doc.page_count, 4);
  EXPECT_EQ(doc.text, "Page one has text.\f\fPage three has text.\f");
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_TRUE(contains(doc.warnings[0], "page(s) 2, 4 have no text")) << doc.warnings[0];
}

TEST(ingest_pdf, a_scan_without_any_text_is_an_error) {
  expect_clean_error("all_scanned.pdf", ErrorCode::invalid_input, "no page has text");
}

TEST(ingest_pdf, encrypted_needs_the_password) {
  expect_clean_error("encrypted.pdf", ErrorCode::invalid_input, "encrypted; pass its password");
  IngestOptions wrong;
  wrong.password = "guess";
  expect_clean_error("encrypted.pdf", ErrorCode::invalid_input, "password does not open", wrong);
  IngestOptions right;
  right.password = "secret";
  EXPECT_EQ(ingest("encrypted.pdf", right).text, "Secret text inside.");
  right.password = "owner";
  EXPECT_EQ(ingest("encrypted.pdf", right).text, "Secret text inside.");
}

TEST(ingest_pdf, huge_page_box_is_refused_before_reading) {
  expect_clean_error("huge_box.pdf", ErrorCode::limit_exceeded, "page box of 1e+07 x 1e+07 pt");
}

TEST(ingest_pdf, page_count_cap_is_checked_first) {
  IngestOptions options;
  options.limits.max_pdf_pages = 2;
  expect_clean_error("simple.pdf", ErrorCode::limit_exceeded, "3 pages, over the limit of 2",
                     options);
}

TEST(ingest_pdf, truncated_files_are_clear_errors) {
  expect_clean_error("truncated_head.pdf", ErrorCode::invalid_input, "damaged or truncated");
  expect_clean_error("truncated_half.pdf", ErrorCode::invalid_input, "damaged or truncated");
}

TEST(ingest_pdf, self_referencing_page_trees_are_clear_errors) {
  expect_clean_error("cyclic.pdf", ErrorCode::invalid_input, "page");
  expect_clean_error("cyclic2.pdf", ErrorCode::invalid_input, "page tree");
  expect_clean_error("huge_count.pdf", ErrorCode::invalid_input, "page tree");
}

TEST(ingest_pdf, not_a_pdf_when_forced) {
  IngestOptions options;
  options.format_override = "pdf";
  try {
    ingest_bytes("hello", "x.txt", options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "x.txt: not a PDF")) << e.what();
  }
}

TEST(ingest_pdf, ligature_expansion_touches_only_the_ligature_block) {
  EXPECT_EQ(
      detail::expand_ligatures("\xEF\xAC\x80 \xEF\xAC\x83 \xEF\xAC\x86 \xEF\xAC\x87 \xEF\xAC\xB0"),
      "ff ffi st \xEF\xAC\x87 \xEF\xAC\xB0");
}

TEST(ingest_pdf, hyphens_of_compounds_split_across_lines_are_kept) {
  // Poppler drops the hyphen at every line end; it comes back where it belongs to the word.
  const Document doc = ingest("hyphenated.pdf");
  EXPECT_EQ(doc.text,
            "This is a well-known fact about the example that we give to self-contained readers "
            "of non-trivial tools and of the co-operate clause; we co-operate\nand a last "
            "hyphen- ated word.");
  // Without the page's own "co-operate", the split "co-\noperate" is taken for a split word.
  EXPECT_TRUE(dehyphenate_keeps_hyphen(U"co", U"operate", U"we co-operate"));
  EXPECT_FALSE(dehyphenate_keeps_hyphen(U"co", U"operate", U"we cooperate"));
}

// ---------------------------------------------------------------- DOCX

TEST(ingest_docx, paragraphs_lists_tables_text_boxes_and_footnotes) {
  const Document doc = ingest("basic.docx");
  EXPECT_EQ(doc.format, "docx");
  EXPECT_EQ(doc.text,
            "Title of the contract\n"
            "Name:\tAlice\nSecond line see link inserted[1]\n"
            "1. Step one\n2. Step two\n  a) Detail a\n  b) Detail b\n3. Step three\n"
            "\xE2\x80\xA2 Bullet item\n"
            "Item | Price\nApple | 3 & 4\n"
            "Boxed text\n"
            "中文段落\n\n"
            "Footnotes\n[1] The footnote text.");
}

TEST(ingest_docx, list_numbering_given_by_paragraph_styles) {
  const Document doc = ingest("styled_list.docx");
  EXPECT_EQ(doc.text,
            "Intro\n1. Alpha\n2. Beta\n  a) Beta one\nNot numbered\n  b) Beta two\n3. Gamma\n"
            "\xE2\x80\xA2 Dot");
  std::size_t items = 0;
  for (const TextBlock& block : doc.blocks) items += block.kind == BlockKind::list_item;
  EXPECT_EQ(items, 6u);
}

TEST(ingest_docx, headings_by_style_and_blocks) {
  const Document doc = ingest("structure.docx");
  EXPECT_EQ(doc.text,
            "# Report\nBody text here.\n## Part two\n1. First step\n### Third level\n\n"
            "Item | Price\nPear | 2\n### Closing");
  const std::vector<std::string> expected = {"heading:# Report",        "paragraph:Body text here.",
                                             "heading:## Part two",     "list_item:1. First step",
                                             "heading:### Third level", "table_row:Item | Price",
                                             "table_row:Pear | 2",      "heading:### Closing"};
  EXPECT_EQ(blocks_of(doc), expected);
  // Notes, headers and footers are paragraphs, a line each.
  IngestOptions options;
  options.docx_headers_footers = true;
  const std::vector<std::string> basic = blocks_of(ingest("basic.docx", options));
  ASSERT_GE(basic.size(), 4u);
  EXPECT_EQ(basic.front(), "paragraph:Page header");
  EXPECT_EQ(basic[1], "paragraph:Title of the contract");
  EXPECT_EQ(basic.back(), "paragraph:Page footer");
  EXPECT_NE(std::find(basic.begin(), basic.end(), "list_item:  a) Detail a"), basic.end());
  EXPECT_NE(std::find(basic.begin(), basic.end(), "paragraph:[1] The footnote text."), basic.end());
}

TEST(ingest_docx, headers_and_footers_when_asked) {
  IngestOptions options;
  options.docx_headers_footers = true;
  const Document doc = ingest("basic.docx", options);
  EXPECT_EQ(doc.text.rfind("Page header\n\nTitle of the contract", 0), 0u) << doc.text;
  EXPECT_TRUE(doc.text.size() > 11 && doc.text.substr(doc.text.size() - 13) == "\n\nPage footer")
      << doc.text;
}

TEST(ingest_docx, entry_names_are_never_paths) {
  const std::string outside = std::filesystem::temp_directory_path() / "glyph-escape.txt";
  std::filesystem::remove(outside);
  std::filesystem::remove("/tmp/glyph-abs.txt");
  const Document doc = ingest("traversal.docx");
  EXPECT_EQ(doc.text, "Safe text");
  EXPECT_FALSE(std::filesystem::exists(outside));
  EXPECT_FALSE(std::filesystem::exists("/tmp/glyph-abs.txt"));
}

TEST(ingest_docx, duplicate_entries_are_refused) {
  expect_clean_error("duplicate.docx", ErrorCode::invalid_input,
                     "two entries named 'word/document.xml'");
}

TEST(ingest_docx, entry_count_cap) {
  IngestOptions options;
  options.limits.max_zip_entries = 100;
  expect_clean_error("many_entries.docx", ErrorCode::limit_exceeded,
                     "308 entries, over the limit of 100", options);
}

TEST(ingest_docx, zip_bomb_stream_is_stopped_while_inflating) {
  IngestOptions options;
  options.limits.max_entry_bytes = 4 << 20;
  expect_clean_error("bomb_stream.docx", ErrorCode::limit_exceeded,
                     "'word/document.xml' inflates past the limit of 4194304 bytes", options);
  options.limits.max_entry_bytes = 256 << 20;
  options.limits.max_uncompressed_bytes = 8 << 20;
  expect_clean_error("bomb_stream.docx", ErrorCode::limit_exceeded,
                     "inflate past the limit of 8388608 bytes", options);
}

TEST(ingest_docx, declared_sizes_are_not_trusted) {
  // Declares 4 GiB for a small entry: read as what it really holds.
  const Outcome huge = ingest_in_child(ingest_fixture("declared_huge.docx"), {});
  if (huge.threw) {
    EXPECT_EQ(huge.code, ErrorCode::invalid_input) << huge.message;
  } else {
    EXPECT_EQ(huge.message, "Declared big");
  }
  // Declares 100 bytes for an 8 MiB entry: the real bytes are counted against the cap.
  IngestOptions options;
  options.limits.max_entry_bytes = 1 << 20;
  expect_clean_error("declared_small.docx", ErrorCode::limit_exceeded, "inflates past the limit",
                     options);
}

TEST(ingest_docx, entity_declarations_are_refused_never_expanded) {
  expect_clean_error("billion_laughs.docx", ErrorCode::invalid_input, "has a DOCTYPE");
  expect_clean_error("external_entity.docx", ErrorCode::invalid_input, "has a DOCTYPE");
  // Without a DTD, an undeclared reference stays as written; character references decode.
  EXPECT_EQ(ingest("undeclared_entity.docx").text, "a & b 中 &undeclared;");
}

TEST(ingest_docx, deep_nesting_is_capped) {
  expect_clean_error("deep_nesting.docx", ErrorCode::limit_exceeded, "nested deeper than 512");
}

TEST(ingest_docx, garbage_after_the_zip_magic_is_a_clear_error) {
  IngestOptions options;
  options.format_override = "docx";
  try {
    ingest_bytes(std::string("PK\x03\x04garbage word/document.xml", 30), "bad.docx", options);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_input);
    EXPECT_TRUE(contains(e.what(), "bad.docx: not a readable zip archive")) << e.what();
  }
}

// ---------------------------------------------------------------- Markdown

TEST(ingest_markdown, keeps_the_structure_drops_the_markup) {
  const std::string md =
      "# Title\n\nA *para* with **bold**\nand a [link](http://x).\n\n"
      "## Steps\n\n1. one\n2. two\n   - nested `code`\n\n"
      "> quoted\n> text\n\n```\ncode  block\n  kept\n```\n\n---\n\nEnd<br>line  \nbreak\n";
  const Document doc = ingest_bytes(md, "notes.md", {});
  EXPECT_EQ(doc.format, "markdown");
  EXPECT_EQ(doc.text,
            "# Title\nA para with bold and a link.\n\n## Steps\n"
            "1. one\n2. two\n   \xE2\x80\xA2 nested code\n\n"
            "> quoted text\n\ncode  block\n  kept\n\n----------\n\nEndline\nbreak");
}

TEST(ingest_markdown, blocks_give_each_block_its_range_and_kind) {
  const std::string md =
      "# Title\n\nSome *text*\nwrapped.\n\n- one\n- two\n  more\n\n"
      "```\nx = 1\n  y\n```\n\n| A | B |\n|---|:--:|\n|  1 | 2 |\n\n> quote\n\n---\n";
  const Document doc = ingest_bytes(md, "x.md", {});
  EXPECT_EQ(doc.text,
            "# Title\nSome text wrapped.\n\n\xE2\x80\xA2 one\n\xE2\x80\xA2 two more\n\n"
            "x = 1\n  y\n\nA | B\n1 | 2\n\n> quote\n\n----------");
  const std::vector<std::string> expected = {"heading:# Title",
                                             "paragraph:Some text wrapped.",
                                             "list_item:\xE2\x80\xA2 one",
                                             "list_item:\xE2\x80\xA2 two more",
                                             "code:x = 1\n  y",
                                             "table_row:A | B",
                                             "table_row:1 | 2",
                                             "quote:> quote",
                                             "rule:----------"};
  EXPECT_EQ(blocks_of(doc), expected);
}

TEST(ingest_markdown, pipes_without_a_delimiter_row_stay_a_paragraph) {
  const Document doc = ingest_bytes("a | b\nc | d\n\n| x |\n|---|---|\n", "x.md", {});
  EXPECT_EQ(doc.text, "a | b c | d\n\n| x | |---|---|");  // the cell counts differ
  const std::vector<std::string> expected = {"paragraph:a | b c | d", "paragraph:| x | |---|---|"};
  EXPECT_EQ(blocks_of(doc), expected);
}

TEST(ingest_markdown, blocks_inside_lists_and_raw_html) {
  const Document doc = ingest_bytes(
      "- item\n\n  second para\n-\n\n<div><h2>Raw</h2><p>html</p></div>\n", "x.md", {});
  EXPECT_EQ(doc.text, "\xE2\x80\xA2 item\n\n  second para\n\n\xE2\x80\xA2\n\n## Raw\nhtml");
  const std::vector<std::string> expected = {"list_item:\xE2\x80\xA2 item",
                                             "paragraph:  second para", "list_item:\xE2\x80\xA2",
                                             "heading:## Raw", "paragraph:html"};
  EXPECT_EQ(blocks_of(doc), expected);
}

TEST(ingest_markdown, loose_lists_and_empty_items) {
  const Document doc = ingest_bytes("- a\n\n- b\n-\n", "x.md", {});
  EXPECT_EQ(doc.text, "\xE2\x80\xA2 a\n\n\xE2\x80\xA2 b\n\n\xE2\x80\xA2");
}

TEST(ingest_markdown, deep_quotes_are_capped) {
  IngestOptions options;
  options.limits.max_nesting_depth = 50;
  EXPECT_THROW(ingest_bytes(std::string(100, '>') + " deep\n", "x.md", options), Error);
}

// ---------------------------------------------------------------- HTML

TEST(ingest_html, visible_text_with_block_structure) {
  const std::string html =
      "<!DOCTYPE html><html><head><title>T</title><style>p{}</style>"
      "<script>var hidden = 1;</script></head><body>"
      "<h1>Heading &amp; more</h1><p>First   para\n graph with <b>bold</b>.</p>"
      "<div hidden>secret</div><div style=\"display: none\">gone</div>"
      "<template><p>tpl</p></template>"
      "<ul><li>one</li><li>two<ol start=\"3\"><li>three</li></ol></li></ul>"
      "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
      "<pre>  keep\n    this</pre>line<br>break &eacute;&#x4E2D;</body></html>";
  const Document doc = ingest_bytes(html, "page.html", {});
  EXPECT_EQ(doc.format, "html");
  EXPECT_EQ(doc.text,
            "# Heading & more\nFirst para graph with bold.\n\n"
            "\xE2\x80\xA2 one\n\xE2\x80\xA2 two\n  3. three\n\n"
            "A | B\n1 | 2\n\n  keep\n    this\n\nline\nbreak \xC3\xA9中");
}

TEST(ingest_html, blocks_give_each_block_its_range_and_kind) {
  const std::string html =
      "<html><body><h2>Intro</h2><p>Some <i>text</i>\nwrapped.</p>\n"
      "<ul>\n <li>one</li>\n <li><p>two</p>\n<p>more</p></li>\n</ul>\n<pre>x = 1\n  y</pre>"
      "<table>\n<tr> <th> A </th> <th>B</th> </tr>\n"
      "<tr><td><p>1</p><p>x</p></td>\n<td>2<br>3</td></tr></table>"
      "<blockquote><p>quote</p></blockquote><hr><h3></h3><p>end</p></body></html>";
  const Document doc = ingest_bytes(html, "page.html", {});
  EXPECT_EQ(doc.text,
            "## Intro\nSome text wrapped.\n\n\xE2\x80\xA2 one\n\xE2\x80\xA2 two\nmore\n\n"
            "x = 1\n  y\n\nA | B\n1 x | 2 3\n\nquote\n\n----------\n\nend");
  const std::vector<std::string> expected = {"heading:## Intro",
                                             "paragraph:Some text wrapped.",
                                             "list_item:\xE2\x80\xA2 one",
                                             "list_item:\xE2\x80\xA2 two",
                                             "list_item:more",
                                             "code:x = 1\n  y",
                                             "table_row:A | B",
                                             "table_row:1 x | 2 3",
                                             "quote:quote",
                                             "rule:----------",
                                             "paragraph:end"};
  EXPECT_EQ(blocks_of(doc), expected);
}

TEST(ingest_html, a_layout_table_keeps_the_lines_of_its_cells) {
  const Document doc = ingest_bytes(
      "<html><body><table><tr><td><p>nav</p><table><tr><td>a</td><td>b</td></tr></table>"
      "<p>body</p></td></tr></table></body></html>",
      "page.html", {});
  EXPECT_EQ(doc.text, "nav\n\na | b\n\nbody");
}

TEST(ingest_html, deep_nesting_is_refused_quickly) {
  std::string html = "<html><body>";
  for (int i = 0; i < 100000; ++i) html += "<div>";
  const auto start = std::chrono::steady_clock::now();
  try {
    ingest_bytes(html, "deep.html", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::limit_exceeded);
    EXPECT_TRUE(contains(e.what(), "deep.html: HTML elements nested more than 512 deep"))
        << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(ingest_html, legacy_unclosed_inline_tags_in_cells_are_not_deep) {
  std::string html = "<html><body><table>";
  for (int i = 0; i < 2000; ++i)
    html += "<tr><td><font size=2><b>cell " + std::to_string(i) + "</td>";
  html += "</table></body></html>";
  const Document doc = ingest_bytes(html, "legacy.html", {});
  EXPECT_TRUE(contains(doc.text, "cell 0\ncell 1\n")) << doc.text.substr(0, 100);
  EXPECT_TRUE(contains(doc.text, "cell 1999"));
}

TEST(ingest_html, tags_without_an_end_scan_in_linear_time) {
  std::string html = "<html>";
  for (int i = 0; i < 500000; ++i) html += "<a/";  // no '>' anywhere
  const auto start = std::chrono::steady_clock::now();
  try {
    ingest_bytes(html, "open.html", {});
  } catch (const Error&) {
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0);
}

TEST(ingest_html, utf16_html_is_decoded_first) {
  std::string bytes = "\xFF\xFE";
  for (const char c : std::string("<html><body><p>Hi</p></body></html>")) {
    bytes += c;
    bytes += '\0';
  }
  const Document doc = ingest_bytes(bytes, "", {});
  EXPECT_EQ(doc.format, "html");
  EXPECT_EQ(doc.text, "Hi");
}

}  // namespace
}  // namespace glyph
