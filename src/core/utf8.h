// UTF-8 decoding, validation and encoding.
//
// Decoding follows the Unicode "maximal subpart" practice (as WHATWG's decoder and ICU do): each
// ill-formed sequence becomes exactly one U+FFFD, and the byte that broke it is read again as the
// start of the next sequence. Overlong forms, surrogates (U+D800..DFFF) and values past U+10FFFF
// are ill-formed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace glyph {

inline constexpr char32_t kReplacementChar = U'\uFFFD';

struct DecodedText {
  std::u32string text;
  std::size_t replaced = 0;  // how many U+FFFD were substituted for ill-formed sequences
  std::size_t first_bad_offset = std::string::npos;  // byte offset of the first ill-formed sequence
};

DecodedText decode_utf8(std::string_view bytes);
bool is_valid_utf8(std::string_view bytes);

void append_utf8(std::string& out, char32_t code_point);
std::string encode_utf8(std::u32string_view text);

}  // namespace glyph
