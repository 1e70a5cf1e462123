#include "text/prepare.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

#include "core/utf8.h"

namespace glyph {
namespace {

bool is_bidi_control(char32_t c) {
  return c == 0x200E || c == 0x200F || c == 0x061C || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

bool is_dropped_invisible(char32_t c) {
  return c == 0x00AD || c == 0x200B || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF || c == 0x180E;
}

void append_escape(std::u32string& out, char32_t c) {
  static const char digits[] = "0123456789ABCDEF";
  out += U"<U+";
  char buffer[8];
  int n = 0;
  for (char32_t v = c; v != 0 || n < 4; v >>= 4) buffer[n++] = digits[v & 0xF];
  while (n > 0) out += static_cast<char32_t>(buffer[--n]);
  out += U'>';
}

// Characters normalization never changes and that never combine with a character before them:
// below U+0300 for NFC (below U+00A0 for NFKC) nothing decomposes, composes as a second character
// or reorders; CJK ideographs likewise. A stretch of text between such characters is normalized
// on its own, together with the character before it (which a combining mark may compose with).
bool is_stable(char32_t c, char32_t stable_below) {
  return c < stable_below || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF);
}

void append_normalized(std::u32string& out, std::u32string_view text, Normalization form) {
  const std::string utf8 = encode_utf8(text);
  const int options =
      UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == Normalization::nfkc ? UTF8PROC_COMPAT : 0);
  utf8proc_uint8_t* result = nullptr;
  const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                   static_cast<utf8proc_ssize_t>(utf8.size()), &result,
                                   static_cast<utf8proc_option_t>(options));
  if (length < 0 || !result) {
    out.append(text);
    return;
  }
  out += decode_utf8(
             std::string_view(reinterpret_cast<const char*>(result), static_cast<size_t>(length)))
             .text;
  std::free(result);
}

// NFC or NFKC of the text. Plain stretches are copied: a mostly English text with a few accents or
// Han characters costs a scan, not a UTF-8 round trip of the whole text through utf8proc.
// Returns false (and leaves `out` alone) when nothing may change.
bool normalize(std::u32string_view text, Normalization form, std::u32string& out) {
  if (form == Normalization::none) return false;
  const char32_t stable_below = form == Normalization::nfc ? 0x300 : 0xA0;
  size_t next = 0;
  while (next < text.size() && is_stable(text[next], stable_below)) ++next;
  if (next == text.size()) return false;
  // Stretches closer than this are normalized together (fewer utf8proc calls on accented text).
  constexpr size_t kJoinGap = 64;
  out.reserve(text.size());
  size_t copied = 0;  // text[0, copied) is in `out`
  while (next < text.size()) {
    const size_t start = next > copied ? next - 1 : next;
    size_t end = next;
    for (;;) {
      while (end < text.size() && !is_stable(text[end], stable_below)) ++end;
      size_t after = end;
      while (after < text.size() && after - end < kJoinGap && is_stable(text[after], stable_below))
        ++after;
      if (after == text.size() || after - end >= kJoinGap) break;
      end = after;
    }
    out.append(text.substr(copied, start - copied));
    append_normalized(out, text.substr(start, end - start), form);
    copied = end;
    next = end;
    while (next < text.size() && is_stable(text[next], stable_below)) ++next;
  }
  out.append(text.substr(copied));
  return true;
}

}  // namespace

PreparedText prepare_text(std::u32string_view input, const RenderConfig& config) {
  PreparedText result;
  std::u32string normalized;
  if (normalize(input, config.normalize, normalized)) input = normalized;
  std::u32string& out = result.text;
  out.reserve(input.size());
  bool in_tag_sequence = false;  // after U+1F3F4 (black flag): tags spell a subdivision flag
  for (size_t i = 0; i < input.size(); ++i) {
    // Printable ASCII, nearly all of most texts, is copied in runs.
    size_t run_end = i;
    while (run_end < input.size() && input[run_end] >= 0x20 && input[run_end] < 0x7F) ++run_end;
    if (run_end > i) {
      out.append(input.substr(i, run_end - i));
      in_tag_sequence = false;
      i = run_end - 1;
      continue;
    }
    const char32_t c = input[i];
    if (c == U'\r') {
      if (i + 1 < input.size() && input[i + 1] == U'\n') ++i;
      out += U'\n';
      ++result.line_breaks_normalized;
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out += U'\n';
      ++result.line_breaks_normalized;
    } else if (c == U'\t') {
      out.append(PreparedText::tab_width, U' ');
      ++result.tabs_expanded;
    } else if (c == 0x0C) {
      out += c;
      ++result.page_breaks;
    } else if (c == U'\n') {
      out += c;
    } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
      ++result.controls_dropped;
    } else if (is_dropped_invisible(c)) {
      ++result.invisible_removed;
    } else if (is_bidi_control(c)) {
      append_escape(out, c);
      ++result.made_visible;
    } else if (c >= 0xE0000 && c <= 0xE007F) {
      if (in_tag_sequence && c >= 0xE0020) {
        out += c;
        if (c == 0xE007F) in_tag_sequence = false;
        continue;
      }
      append_escape(out, c);
      ++result.made_visible;
    } else {
      out += c;
    }
    in_tag_sequence = c == 0x1F3F4;
  }
  return result;
}

PreparedText prepare_text(std::string_view utf8_bytes, const RenderConfig& config) {
  DecodedText decoded = decode_utf8(utf8_bytes);
  PreparedText result = prepare_text(std::u32string_view(decoded.text), config);
  decoded.text = std::u32string();
  result.invalid_utf8 = decoded.replaced;
  result.first_invalid_offset = decoded.first_bad_offset;
  return result;
}

}  // namespace glyph
