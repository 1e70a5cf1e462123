#include "core/utf8.h"

#include <cstdint>
#include <cstring>

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

// The 8 bytes at p are all ASCII.
bool ascii8(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return (word & 0x8080808080808080ULL) == 0;
}

// Length of the well-formed sequence at p[0..n), or 0 when it is ill-formed; *consumed is then
// the maximal subpart to skip (at least 1). The code point goes to *cp.
int decode_one(const unsigned char* p, std::size_t n, char32_t* cp, std::size_t* consumed) {
  const LeadInfo info = lead_info(p[0]);
  if (info.length == 0) {
    *consumed = 1;
    return 0;
  }
  char32_t value = p[0] & (0xFF >> (info.length + 1));
  std::size_t j = 1;
  for (int k = 1; k < info.length; ++k, ++j) {
    const unsigned char lo = k == 1 ? info.second_min : 0x80;
    const unsigned char hi = k == 1 ? info.second_max : 0xBF;
    if (j >= n || p[j] < lo || p[j] > hi) {
      *consumed = j;  // the maximal subpart consumed; the offending byte starts over
      return 0;
    }
    value = (value << 6) | (p[j] & 0x3F);
  }
  *cp = value;
  *consumed = j;
  return info.length;
}

}  // namespace

DecodedText decode_utf8(std::string_view bytes) {
  DecodedText out;
  out.text.resize(bytes.size());  // never more code points than bytes
  char32_t* o = out.text.data();
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    while (i + 8 <= n && ascii8(p + i)) {
      for (int k = 0; k < 8; ++k) o[k] = p[i + k];
      o += 8;
      i += 8;
    }
    if (i >= n) break;
    if (p[i] < 0x80) {
      *o++ = p[i++];
      continue;
    }
    char32_t cp = 0;
    std::size_t consumed = 0;
    if (decode_one(p + i, n - i, &cp, &consumed)) {
      *o++ = cp;
    } else {
      *o++ = kReplacementChar;
      ++out.replaced;
      if (out.first_bad_offset == std::string::npos) out.first_bad_offset = i;
    }
    i += consumed;
  }
  out.text.resize(static_cast<std::size_t>(o - out.text.data()));
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    while (i + 8 <= n && ascii8(p + i)) i += 8;
    if (i >= n) break;
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    std::size_t consumed = 0;
    if (!decode_one(p + i, n - i, &cp, &consumed)) return false;
    i += consumed;
  }
  return true;
}

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
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t ascii = i;  // a run of ASCII goes in with one append
    while (ascii < text.size() && text[ascii] < 0x80) ++ascii;
    if (ascii > i) {
      const std::size_t at = out.size();
      out.resize(at + (ascii - i));
      for (std::size_t k = i; k < ascii; ++k) out[at + (k - i)] = static_cast<char>(text[k]);
      i = ascii;
      continue;
    }
    append_utf8(out, text[i++]);
  }
  return out;
}

}  // namespace glyph
