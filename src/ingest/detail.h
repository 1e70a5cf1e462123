// Internals of the ingest module: one reader per format. Each takes the whole input in memory and
// the name used in messages, and fills a Document or throws glyph::Error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ingest/ingest.h"

namespace glyph::detail {

struct DecodedBytes {
  std::string utf8;
  std::string encoding;      // the name reported to the user
  std::size_t replaced = 0;  // bytes that could not be converted (each became U+FFFD)
};

// Text in any supported encoding → UTF-8 (BOM removed). encoding_override empty = detect.
DecodedBytes decode_text_bytes(std::string_view bytes, std::string_view name,
                               const std::string& encoding_override);

Document read_pdf(std::string_view bytes, std::string_view name, const IngestOptions& options);
Document read_docx(std::string_view bytes, std::string_view name, const IngestOptions& options);
// The text a structured format gives and its blocks (Document::text and Document::blocks).
struct StructuredText {
  std::string text;
  std::vector<TextBlock> blocks;  // in text order, not overlapping, each inside text
};

// Markdown and HTML readers take UTF-8 (already decoded).
StructuredText markdown_to_text(std::string_view utf8, std::string_view name,
                                const IngestLimits& limits);
StructuredText html_to_text(std::string_view utf8, std::string_view name,
                            const IngestLimits& limits);

// Ligatures U+FB00..FB06 → their letters (NFKC of those code points only).
std::string expand_ligatures(std::string_view utf8);

}  // namespace glyph::detail
