#include "core/utf8.h"


namespace glyph {
namespace {

// Length of a well-formed sequence starting at lead byte b and the valid range of its second
// byte (Unicode Table 3-7); 0 for a byte that cannot start a sequence.
struct LeadInfo {
  int length;
  unsigned char second_min;
  unsigned char second_max;
};

LeadInfo lead_info(unsigned char b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

DecodedText decode_utf8(std::string_view bytes) {
  DecodedText out;
  out.text.reserve(bytes.size());
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  auto bad = [&](std::size_t at) {
    out.text.push_back(kReplacementChar);
    ++out.replaced;
    if (out.first_bad_offset == std::string::npos) out.first_bad_offset = at;
  };
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      out.text.push_back(b);
      ++i;
      continue;
    }
    const LeadInfo info = lead_info(b);
    if (info.length == 0) {
      bad(i);
      ++i;
      continue;
    }
    char32_t cp = b & (0xFF >> (info.length + 1));
    std::size_t j = i + 1;
    bool ok = true;
    for (int k = 1; k < info.length; ++k, ++j) {
      const unsigned char lo = k == 1 ? info.second_min : 0x80;
      const unsigned char hi = k == 1 ? info.second_max : 0xBF;
      if (j >= n || p[j] < lo || p[j] > hi) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (p[j] & 0x3F);
    }
    if (!ok) {
      bad(i);
      i = j;  // the maximal subpart consumed; the offending byte starts over
      continue;
    }
    out.text.push_back(cp);
    i = j;
  }
  return out;
}

bool is_valid_utf8(std::string_view bytes) { return decode_utf8(bytes).replaced == 0; }

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacementChar;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

}  // namespace glyph
