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

// Below U+0300 nothing composes or decomposes under NFC; below U+00A0 nothing changes under NFKC
// either: plain text skips the round trip (and its copies).
bool may_change_under(std::u32string_view text, Normalization form) {
  if (form == Normalization::none) return false;
  const char32_t stable_below = form == Normalization::nfc ? 0x300 : 0xA0;
  return std::any_of(text.begin(), text.end(), [&](char32_t c) { return c >= stable_below; });
}

std::u32string normalize(std::u32string_view text, Normalization form) {
  const std::string utf8 = encode_utf8(text);
  const int options =
      UTF8PROC_STABLE | UTF8PROC_COMPOSE | (form == Normalization::nfkc ? UTF8PROC_COMPAT : 0);
  utf8proc_uint8_t* result = nullptr;
  const auto length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                   static_cast<utf8proc_ssize_t>(utf8.size()), &result,
                                   static_cast<utf8proc_option_t>(options));
  if (length < 0 || !result) return std::u32string(text);
  std::u32string out = decode_utf8(std::string_view(reinterpret_cast<const char*>(result),
                                                    static_cast<size_t>(length)))
                           .text;
  std::free(result);
  return out;
}

}  // namespace

PreparedText prepare_text(std::u32string_view input, const RenderConfig& config) {
  PreparedText result;
  std::u32string normalized;
  if (may_change_under(input, config.normalize)) {
    normalized = normalize(input, config.normalize);
    input = normalized;
  }
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
