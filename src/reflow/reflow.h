// reflow: the text to render from a document's text and structure, so that lines are spent on
// content instead of on the source's line breaks (docs/reflow.md).
//
// Between ingest and layout. With RenderConfig::reflow off the text is what prepare_text makes of
// the document (the Glyph release's behaviour). With auto or on:
//   - hard-wrapped prose: the lines of a paragraph that the wrap width shows were broken by the
//     wrapper are joined with a space; list items, headings, code, table rows and rules are
//     never joined to the line before them;
//   - a word split across a line end ("exam-\nple") is joined ("example"), unless the halves
//     look like a compound ("well-\nknown" stays "well-known"; see dehyphenate_keeps_hyphen);
//   - PDF pages flow: the form feed between two pages becomes the inline marker "[p.N]" before
//     the first text of page N, and the source map still says which page each character is from;
//   - packing: runs of short lines whose breaks matter (code, list items, logs, verse) share
//     rendered lines, each source newline drawn as the visible marker " \n " (a backslash and
//     an n: the text of Glyph's newline-markup) with the line's leading spaces kept after it;
//     a blank line between two such blocks or paragraphs is drawn " \n\n ". Tables and
//     headings are never packed;
//   - dot leaders of a table of contents are written " ... ", a long rule ("*******") as its
//     first three characters.
// `on` is `auto` without the measurements: every line of a prose paragraph is joined to the next
// (unless the next starts a list item, a table row, a rule or code) and every run of two or more
// kept lines is packed, whether or not that saves a rendered line.
//
// Offsets: the source of the map is the document's text as prepare_text makes it (what `--reflow
// off` renders), in code points; the output is the text to render, in code points.
//
// Thread-safety: no state; documents may be reflowed in parallel.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "ingest/ingest.h"
#include "text/prepare.h"

namespace glyph {

// What a block of the output is, as the reflow stage sees it: from Document::blocks when the
// format marks them, else detected from the text.
enum class ReflowKind { prose, heading, list, code, table, quote, rule, lines };
enum class ReflowAction { kept, joined, packed };
std::string_view reflow_kind_name(ReflowKind kind);        // "prose", "heading", ...
std::string_view reflow_action_name(ReflowAction action);  // "kept", "joined", "packed"

struct ReflowBlock {
  ReflowKind kind = ReflowKind::prose;
  ReflowAction action = ReflowAction::kept;
  std::size_t source_start = 0, source_end = 0;  // code points of the source text
  std::size_t output_start = 0, output_end = 0;  // code points of the output text
  std::size_t lines = 0;                         // source lines in the block
  std::size_t dehyphenated = 0;                  // words joined across a line end
};

struct ReflowReport {
  ReflowMode mode = ReflowMode::off;
  std::vector<ReflowBlock> blocks;  // every block of two or more lines, and every single line
  std::size_t lines_joined = 0;     // line breaks replaced by a space (or nothing: dehyphenated)
  std::size_t words_dehyphenated = 0;
  std::size_t lines_packed = 0;       // line breaks drawn as the packing marker
  std::size_t page_markers = 0;       // "[p.N]" markers inserted
  std::size_t paragraphs_flowed = 0;  // blank lines between flowing blocks drawn as " \n\n "
  std::size_t blank_lines_dropped = 0;
  std::size_t rules_shortened = 0;    // "**********" lines written as their first 3 characters
  std::size_t leaders_collapsed = 0;  // ". . . . ." runs of a table of contents written " ... "  //
                                      // blank lines beyond the first of a run

  std::size_t count(ReflowKind kind, ReflowAction action) const;
  // One line: "reflow auto: 12 blocks joined (prose 12), 3 packed (code 2, list 1), ..."
  std::string summary() const;
};

// Where each character of the output comes from.
class SourceMap {
 public:
  // A stretch of the output copied from the source ([source_start, +length)), or inserted (a
  // marker or a joining space): then every character of it maps to source_start.
  struct Segment {
    std::size_t output_start = 0, source_start = 0, length = 0;
    bool inserted = false;
  };
  SourceMap() = default;
  // The identity over `length` characters.
  static SourceMap identity(std::size_t length);
  void append_copy(std::size_t output_start, std::size_t source_start, std::size_t length);
  void append_inserted(std::size_t output_start, std::size_t source_at, std::size_t length);

  // The source offset of an output offset (past the end: the source's end).
  std::size_t source_offset(std::size_t output_offset) const;
  // 1-based page of the source (PDF) a character of the output comes from; 0 without pages.
  int source_page(std::size_t output_offset) const;
  // The page of a stretch [start, end) of the output: that of its first character copied from
  // the source (a marker before it, " \n [p.3] ", belongs to the text it introduces).
  int source_page(std::size_t output_start, std::size_t output_end) const;
  const std::vector<Segment>& segments() const { return segments_; }
  // Code point offsets of the source where each page begins (PDF; empty otherwise).
  std::vector<std::size_t> page_starts;
  std::size_t source_length = 0;

 private:
  std::vector<Segment> segments_;
};

// A block as the source marks it, in code points of the source text.
struct SourceBlock {
  std::size_t start = 0, end = 0;
  BlockKind kind = BlockKind::paragraph;
};

struct ReflowInput {
  std::u32string_view text;              // prepared (prepare_text) source text
  std::vector<std::size_t> page_starts;  // code points; a "\f" just before one is a page break
  std::vector<SourceBlock> blocks;       // in text order; may be empty
  // Characters a rendered line holds, about (packing's measure); 0: 110.
  std::size_t rendered_line_chars = 0;
};

struct ReflowResult {
  std::u32string text;
  SourceMap map;
  ReflowReport report;
};

// The rules above on prepared text. Mode off returns the text unchanged (identity map).
ReflowResult reflow_text(const ReflowInput& input, ReflowMode mode);

// dehyphenate_keeps_hyphen (ingest/ingest.h) decides the hyphens of words split across lines.

// The text a document renders as, and where each character comes from: prepare_text, then the
// reflow rules of config.reflow. The one place every command and the service go through between
// ingest and layout.
struct PreparedDocument {
  std::u32string text;   // what is laid out and rendered
  PreparedText prepare;  // the counters of prepare_text (its text moved into `text` or dropped)
  SourceMap map;
  ReflowReport reflow;
  // With reflow on or auto, or line numbers: the text as prepare_text makes it (what `off`
  // renders), the source of `map`; empty otherwise (it is `text` then).
  std::u32string source_text;
};
// With config.line_numbers, each line of the text then begins with its number (inserted text in
// the map).
PreparedDocument prepare_document(const Document& document, const RenderConfig& config);

// Characters a rendered line of the config holds, about (for packing decisions).
std::size_t rendered_line_chars(const RenderConfig& config);

}  // namespace glyph
