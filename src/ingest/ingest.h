// ingest: documents in. Plain text in any common encoding, PDF, DOCX, Markdown and HTML become
// one UTF-8 string that the renderer lays out.
//
// The format is detected by content first (%PDF, a zip holding word/document.xml, HTML tags),
// then by the file name's extension; IngestOptions::format_override wins over both. Markdown has
// no reliable signature, so it is read as Markdown only when the extension (.md, .markdown) or
// the override says so.
//
// Hostile input ends in glyph::Error naming the file and the problem (encrypted, truncated,
// zip bomb, entity declarations, too many pages...), never a crash or a hang: every cap in
// IngestLimits is checked before the expensive work or counted while reading, and XML entity
// declarations are refused, never expanded. Nothing inside a document is ever used as a path.
//
// Page breaks: a PDF's pages are separated by a form feed ("\f") by default; see
// docs/ingest.md for how the text rules of the renderer treat it.
//
// Thread-safety: the functions keep no state; different documents may be read in parallel.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

// A block of a structured document (Markdown, HTML, DOCX) as its source marks it, so that the
// reflow stage (src/reflow) keeps, joins or packs it by kind instead of guessing from the text.
enum class BlockKind { paragraph, heading, list_item, code, table_row, quote, rule };
struct TextBlock {
  std::size_t begin = 0, end = 0;  // byte range [begin, end) of Document::text
  BlockKind kind = BlockKind::paragraph;
};

struct Document {
  std::string text;      // UTF-8, no BOM
  std::string format;    // "txt", "pdf", "docx", "markdown", "html"
  std::string encoding;  // the source encoding for text formats ("UTF-8", "GB18030", ...); else ""
  int page_count = 0;    // PDF pages; 0 for formats without pages
  std::vector<std::size_t> page_starts;  // PDF: byte offset in text where each page begins
  std::vector<std::string> warnings;     // things a user should know (pages without text, ...)
  std::vector<TextBlock> blocks;  // structured formats: blocks in text order; empty for txt, PDF
};

struct IngestLimits {
  std::size_t max_input_bytes = std::size_t{512} << 20;  // the file as given
  int max_pdf_pages = 20000;
  double max_page_side_pt = 14400;  // 200 inches: the largest page the PDF spec allows
  std::size_t max_zip_entries = 20000;
  std::size_t max_uncompressed_bytes = std::size_t{1} << 30;  // all zip entries read, counted
  std::size_t max_entry_bytes = std::size_t{512} << 20;       // one zip entry, counted
  std::size_t max_nesting_depth = 512;  // XML / HTML elements inside each other
};

enum class PdfPageSeparator {
  form_feed,  // "\f" between pages (the default)
  marker,     // "\n--- page N ---\n" before every page after the first
  newline,    // a blank line: page boundaries only in Document::page_starts
};

struct IngestOptions {
  std::string format_override;    // "", "txt", "pdf", "docx", "markdown" ("md"), "html"
  std::string encoding_override;  // for text formats: any iconv name, e.g. "gb18030", "latin1"
  std::string password;           // for encrypted PDFs (user or owner password)
  IngestLimits limits;
  bool docx_headers_footers = false;  // include DOCX headers (first) and footers (last)
  PdfPageSeparator pdf_page_separator = PdfPageSeparator::form_feed;
};

// Reads a file ("-" = standard input) and converts it. Throws Error naming the path.
Document ingest_file(const std::string& path, const IngestOptions& options);

// Converts bytes in memory; filename_hint (may be empty) gives the extension and appears in
// error messages.
Document ingest_bytes(std::string_view bytes, std::string_view filename_hint,
                      const IngestOptions& options);

// The format the content and name point to, as Document::format names it; the override is not
// consulted. Never throws.
std::string detect_format(std::string_view bytes, std::string_view filename_hint);

// Parses a --format value ("md" → "markdown", "text" → "txt"); throws Error(invalid_argument).
std::string parse_format_name(std::string_view name);

// Parses a --pdf-pages value: "form-feed", "marker" or "newline".
PdfPageSeparator parse_pdf_page_separator(std::string_view name);

// Whether the hyphen of "first-\nsecond" is kept when the two lines are joined: when the
// document itself has the hyphenated form and not the joined one, else when `first` is one of a
// few words that begin compounds (well, self, non, ...), when `second` does not start with a
// lower-case letter, or `first` with a digit. Shared by the reflow stage (lines it joins) and the
// PDF reader (words Poppler joined across a line end).
bool dehyphenate_keeps_hyphen(std::u32string_view first, std::u32string_view second,
                              std::u32string_view document);

}  // namespace glyph
