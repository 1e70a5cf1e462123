// prepare_text: the text exactly as it will be rendered, from the bytes of a document.
//
// Every offset in the project (layout, line boxes, citations) counts code points of
// PreparedText::text. The rules (docs/text-rules.md) keep ordinary text unchanged, so that
// layouts match the reference renderer, and make anything that could hide content from a human
// reader either visible or counted:
//   - ill-formed UTF-8 → U+FFFD, one per maximal ill-formed subpart;
//   - CRLF and lone CR → LF; U+2028, U+2029 and U+0085 → LF;
//   - TAB → 4 spaces; form feed → a page break (kept as U+000C, the layout starts a new page);
//   - NUL and other C0/C1 controls, DEL → dropped (counted);
//   - soft hyphen U+00AD and zero-width space U+200B → removed, as the reference renderer does;
//   - bidi controls (U+200E/F, U+061C, U+202A..202E, U+2066..2069) → visible escapes "<U+202E>";
//   - zero-width characters other than ZWJ/ZWNJ (U+2060..2064, U+FEFF, U+180E) → dropped (counted);
//   - Unicode tag characters U+E0000..E007F → visible escapes "<U+E0041>" (they can spell hidden
//     text; a human must see what a model would read). Tags inside an emoji flag sequence
//     (U+1F3F4 followed by tags) are kept;
//   - variation selectors, ZWJ, ZWNJ, combining marks: kept (they shape emoji and scripts).
// Normalization (config.normalize) is applied first when set.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/config.h"

namespace glyph {

struct PreparedText {
  std::u32string text;
  std::size_t invalid_utf8 = 0;  // U+FFFD substituted for ill-formed byte sequences
  std::size_t first_invalid_offset = std::string::npos;  // byte offset of the first one
  std::size_t line_breaks_normalized = 0;                // CRLF, CR, U+2028, U+2029 turned into LF
  std::size_t tabs_expanded = 0;                         // each TAB became tab_width spaces
  std::size_t page_breaks = 0;                           // form feeds kept as page breaks
  std::size_t controls_dropped = 0;                      // NUL, other C0/C1 controls, DEL
  std::size_t invisible_removed = 0;  // soft hyphens, zero-width spaces and other invisibles
  std::size_t made_visible = 0;       // bidi controls and tag characters written as <U+XXXX>
  static constexpr int tab_width = 4;

  std::size_t changes() const {
    return invalid_utf8 + line_breaks_normalized + tabs_expanded + controls_dropped +
           invisible_removed + made_visible;
  }
};

PreparedText prepare_text(std::string_view utf8_bytes, const RenderConfig& config);
// The same rules on already decoded text (no UTF-8 step).
PreparedText prepare_text(std::u32string_view text, const RenderConfig& config);

}  // namespace glyph
