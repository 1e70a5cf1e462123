// The lean glyph links these instead of the PDF and DOCX readers of the ingest module (which need
// poppler and libzip): meeting such a document, it hands the whole command to glyph-full.
#include "hand_over.h"
#include "ingest/detail.h"

namespace glyph::detail {

Document read_pdf(std::string_view bytes, std::string_view, const IngestOptions&) {
  throw cli::NeedsFullTool{std::string(bytes)};
}

Document read_docx(std::string_view bytes, std::string_view, const IngestOptions&) {
  throw cli::NeedsFullTool{std::string(bytes)};
}

}  // namespace glyph::detail
