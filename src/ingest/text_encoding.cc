// Plain text in any common encoding → UTF-8.
//
// Order of evidence: a byte-order mark; UTF-16 without a BOM for Latin text (zero bytes at every
// other position); valid UTF-8; mostly valid UTF-8 (kept, the renderer replaces the bad bytes);
// uchardet's guess, converted with glibc's iconv; when uchardet has no guess, UTF-16 without a
// BOM whose code units are all plausible characters (CJK text). Bytes iconv cannot convert become
// U+FFFD and are counted; a guess that needs too many of them is refused with a hint to pass
// --encoding.
#include <errno.h>
#include <iconv.h>
#include <uchardet.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "core/error.h"
#include "core/utf8.h"
#include "ingest/detail.h"

namespace glyph::detail {
namespace {

const char* const kEncodingHint =
    "pass --encoding (e.g. utf-8, gb18030, big5, shift_jis, windows-1252, latin1, utf-16le)";

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// User spellings iconv does not know → iconv names.
std::string canonical_encoding(std::string_view name) {
  std::string u = upper(name);
  std::replace(u.begin(), u.end(), '_', '-');
  if (u == "UTF8") return "UTF-8";
  if (u == "UTF16") return "UTF-16";
  if (u == "UTF16LE") return "UTF-16LE";
  if (u == "UTF16BE") return "UTF-16BE";
  if (u == "LATIN-1" || u == "LATIN1" || u == "ISO8859-1") return "ISO-8859-1";
  if (u == "CP1252" || u == "WIN1252" || u == "WINDOWS1252") return "WINDOWS-1252";
  if (u == "SJIS" || u == "SHIFT-JIS" || u == "SHIFTJIS") return "SHIFT_JIS";
  if (u == "CP936") return "GBK";
  if (u == "BIG-5") return "BIG5";
  return u;
}

struct IconvHandle {
  iconv_t cd;
  ~IconvHandle() { iconv_close(cd); }
};

// Converts with iconv; each byte that cannot be converted becomes one U+FFFD.
DecodedBytes convert(std::string_view bytes, const std::string& from, std::string_view name) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    throw Error(ErrorCode::invalid_argument,
                std::string(name) + ": unknown encoding '" + from + "'; " + kEncodingHint);
  }
  IconvHandle handle{cd};
  DecodedBytes out;
  out.encoding = from;
  out.utf8.reserve(bytes.size() + bytes.size() / 2 + 16);
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char buf[1 << 14];
  while (in_left > 0) {
    char* o = buf;
    size_t o_left = sizeof buf;
    const size_t rc = iconv(cd, &in, &in_left, &o, &o_left);
    out.utf8.append(buf, static_cast<size_t>(o - buf));
    if (rc != static_cast<size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ (a byte that is not in the encoding) or EINVAL (truncated at the end).
    out.utf8 += "\xEF\xBF\xBD";
    ++out.replaced;
    if (errno == EINVAL) break;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);  // back to the initial shift state
  }
  return out;
}

// Counts valid multi-byte sequences and ill-formed sequences, to tell "UTF-8 with a few bad
// bytes" from a legacy 8-bit encoding.
void count_utf8(std::string_view bytes, size_t& multibyte, size_t& bad) {
  multibyte = bad = 0;
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || len > 4 || c > 0xF4 || i + len > bytes.size() ||
        !is_valid_utf8(bytes.substr(i, len))) {
      ++bad;
      ++i;
      continue;
    }
    ++multibyte;
    i += len;
  }
}

bool plausible_code_unit(unsigned u) {
  if (u == 0x09 || u == 0x0A || u == 0x0D || u == 0x0C) return true;
  if (u >= 0x20 && u < 0x7F) return true;
  if (u >= 0xA0 && u < 0x250) return true;     // Latin-1, Latin Extended
  if (u >= 0x370 && u < 0x530) return true;    // Greek, Cyrillic
  if (u >= 0x2000 && u < 0x2070) return true;  // general punctuation
  if (u >= 0x3000 && u < 0x3100) return true;  // CJK punctuation, kana
  if (u >= 0x4E00 && u < 0xA000) return true;  // CJK unified ideographs
  if (u >= 0xAC00 && u < 0xD7A4) return true;  // Hangul
  if (u >= 0xFF00 && u < 0xFFF0) return true;  // full-width forms
  return false;
}

// "UTF-16LE", "UTF-16BE" or "" for bytes without a BOM. With cjk = false, only the zero-byte
// pattern of Latin text counts (it is also valid UTF-8, so it is checked first).
std::string guess_utf16(std::string_view bytes, bool cjk) {
  if (bytes.size() < 4 || bytes.size() % 2 != 0) return "";
  const size_t n = std::min<size_t>(bytes.size(), 1 << 16) & ~size_t{1};
  size_t zero_even = 0, zero_odd = 0;
  for (size_t i = 0; i < n; i += 2) {
    zero_even += bytes[i] == 0;
    zero_odd += bytes[i + 1] == 0;
  }
  const size_t units = n / 2;
  // Latin text: the high byte of nearly every code unit is zero.
  if (zero_odd * 10 >= units * 3 && zero_even * 20 <= units) return "UTF-16LE";
  if (zero_even * 10 >= units * 3 && zero_odd * 20 <= units) return "UTF-16BE";
  if (!cjk) return "";
  // CJK text: no zero bytes, but every code unit is a plausible character.
  for (const bool little : {true, false}) {
    size_t plausible = 0;
    bool broken = false;
    for (size_t i = 0; i < n && !broken; i += 2) {
      const unsigned lo = static_cast<unsigned char>(bytes[i + (little ? 0 : 1)]);
      const unsigned hi = static_cast<unsigned char>(bytes[i + (little ? 1 : 0)]);
      const unsigned u = hi << 8 | lo;
      if (u >= 0xD800 && u < 0xE000) broken = true;
      plausible += plausible_code_unit(u);
    }
    if (!broken && plausible * 100 >= units * 98 && units >= 8) {
      return little ? "UTF-16LE" : "UTF-16BE";
    }
  }
  return "";
}

std::string detect_with_uchardet(std::string_view bytes) {
  std::unique_ptr<uchardet, void (*)(uchardet_t)> ud(uchardet_new(), uchardet_delete);
  const size_t n = std::min<size_t>(bytes.size(), 4 << 20);
  if (uchardet_handle_data(ud.get(), bytes.data(), n) != 0) return "";
  uchardet_data_end(ud.get());
  const char* charset = uchardet_get_charset(ud.get());
  return charset ? std::string(charset) : std::string();
}

// C0 controls other than whitespace and form feed: a few are text with noise (the renderer's
// rules handle them), many mean a binary file.
void refuse_binary(const DecodedBytes& decoded, std::string_view name) {
  const std::string& s = decoded.utf8;
  if (s.size() < 32) return;
  size_t controls = 0;
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) ++controls;
  }
  if (controls * 10 > s.size()) {
    throw Error(ErrorCode::invalid_input,
                std::string(name) + ": does not look like text (" + std::to_string(controls) +
                    " control bytes in " + std::to_string(s.size()) +
                    "); pass --format for a document or " + kEncodingHint);
  }
}

DecodedBytes utf8_as_is(std::string_view bytes) {
  DecodedBytes out;
  out.utf8.assign(bytes);
  out.encoding = "UTF-8";
  return out;
}

}  // namespace

DecodedBytes decode_text_bytes(std::string_view bytes, std::string_view name,
                               const std::string& encoding_override) {
  auto starts = [&](std::string_view prefix) { return bytes.substr(0, prefix.size()) == prefix; };
  const std::string_view utf8_bom = "\xEF\xBB\xBF";
  const std::string_view utf32le_bom("\xFF\xFE\0\0", 4);
  const std::string_view utf32be_bom("\0\0\xFE\xFF", 4);

  if (!encoding_override.empty()) {
    const std::string from = canonical_encoding(encoding_override);
    if (from == "UTF-8") return utf8_as_is(starts(utf8_bom) ? bytes.substr(3) : bytes);
    DecodedBytes out = convert(bytes, from, name);
    if (out.utf8.substr(0, 3) == utf8_bom) out.utf8.erase(0, 3);
    return out;
  }

  DecodedBytes out;
  if (starts(utf8_bom)) {
    out = utf8_as_is(bytes.substr(3));
    out.encoding = "UTF-8 (BOM)";
  } else if (starts(utf32le_bom)) {
    out = convert(bytes.substr(4), "UTF-32LE", name);
  } else if (starts(utf32be_bom)) {
    out = convert(bytes.substr(4), "UTF-32BE", name);
  } else if (starts("\xFF\xFE")) {
    out = convert(bytes.substr(2), "UTF-16LE", name);
  } else if (starts("\xFE\xFF")) {
    out = convert(bytes.substr(2), "UTF-16BE", name);
  } else if (std::string latin16 = guess_utf16(bytes, false); !latin16.empty()) {
    out = convert(bytes, latin16, name);
  } else if (is_valid_utf8(bytes)) {
    out = utf8_as_is(bytes);
  } else {
    size_t multibyte = 0, bad = 0;
    count_utf8(bytes, multibyte, bad);
    const std::string guess = detect_with_uchardet(bytes);
    if (upper(guess) == "UTF-8" || (multibyte > 0 && multibyte >= bad)) {
      // Mostly UTF-8 with ill-formed sequences: kept as they are; the renderer's decoder
      // replaces each with U+FFFD and counts them.
      out = utf8_as_is(bytes);
    } else if (std::string cjk16 = guess.empty() ? guess_utf16(bytes, true) : ""; !cjk16.empty()) {
      // Legacy CJK encodings can pass for UTF-16 code units, so this comes after uchardet.
      out = convert(bytes, cjk16, name);
    } else if (guess.empty() || upper(guess) == "ASCII") {
      throw Error(ErrorCode::invalid_input,
                  std::string(name) +
                      ": cannot tell the text encoding (not UTF-8, no byte-order "
                      "mark, no confident guess); " +
                      kEncodingHint);
    } else {
      out = convert(bytes, canonical_encoding(guess), name);
      if (out.replaced * 20 > bytes.size() / 2 + 1) {
        throw Error(ErrorCode::invalid_input,
                    std::string(name) + ": the encoding looks like " + out.encoding + " but " +
                        std::to_string(out.replaced) + " bytes do not convert; " + kEncodingHint);
      }
    }
  }
  refuse_binary(out, name);
  return out;
}

}  // namespace glyph::detail
