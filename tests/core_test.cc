#include <gtest/gtest.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <filesystem>
#include <random>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "support/paths.h"

namespace glyph {
namespace {

TEST(utf8, decodes_valid_text_of_every_length) {
  const auto decoded = decode_utf8("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
  EXPECT_EQ(decoded.text, U"a\u00E9\u4E2D\U0001F600");
  EXPECT_EQ(decoded.replaced, 0u);
  EXPECT_EQ(decoded.first_bad_offset, std::string::npos);
}

TEST(utf8, replaces_each_ill_formed_sequence_once) {
  // Overlong "/" (C0 AF), a surrogate (ED A0 80), a truncated 3-byte sequence (E4 B8) before
  // ASCII, a stray continuation byte (80), a byte that never appears (FF), past U+10FFFF (F4 90).
  const auto decoded = decode_utf8("\xC0\xAFx\xED\xA0\x80y\xE4\xB8z\x80\xFF\xF4\x90\x80\x80");
  // C0, AF: two bad bytes (C0 can never lead). ED A0: ED's second byte must be 80..9F, so ED
  // alone is a maximal subpart, then A0 and 80 are stray. E4 B8: one truncated sequence.
  EXPECT_EQ(decoded.text,
            U"\uFFFD\uFFFDx\uFFFD\uFFFD\uFFFDy\uFFFDz\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(decoded.replaced, 12u);
  EXPECT_EQ(decoded.first_bad_offset, 0u);
}

TEST(utf8, truncated_sequence_at_end_is_one_replacement) {
  const auto decoded = decode_utf8("ok\xF0\x9F\x98");
  EXPECT_EQ(decoded.text, U"ok\uFFFD");
  EXPECT_EQ(decoded.replaced, 1u);
  EXPECT_EQ(decoded.first_bad_offset, 2u);
}

TEST(utf8, keeps_nul_bytes) {
  const std::string bytes("a\0b", 3);
  EXPECT_EQ(decode_utf8(bytes).text, std::u32string(U"a\0b", 3));
}

TEST(utf8, encodes_round_trip_and_replaces_surrogates) {
  const std::u32string text = U"x\u00E9\u4E2D\U0001F600";
  EXPECT_EQ(decode_utf8(encode_utf8(text)).text, text);
  EXPECT_EQ(encode_utf8(std::u32string(1, char32_t{0xD800})), "\xEF\xBF\xBD");
  EXPECT_TRUE(is_valid_utf8(encode_utf8(text)));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
}

// ICU substitutes one U+FFFD per maximal subpart too: the decoder (with its ASCII fast path),
// the validator and the encoder must agree with it on any bytes.
TEST(utf8, agrees_with_icu_on_random_bytes) {
  std::mt19937 rng(7);
  const char* pieces[] = {"abcdefghijk",  "\xC3\xA9", "\xE4\xB8\xAD",     "\xF0\x9F\x98\x80",
                          "\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\x80",
                          "\xFF",         "\xE4\xB8", "\xF0\x9F"};
  for (int round = 0; round < 3000; ++round) {
    std::string bytes;
    const int parts = static_cast<int>(rng() % 12);
    for (int k = 0; k < parts; ++k) {
      if (rng() % 3 == 0) {
        bytes += static_cast<char>(rng() % 256);
      } else {
        bytes += pieces[rng() % std::size(pieces)];
      }
    }
    std::u16string utf16(bytes.size() + 1, u'\0');
    int32_t length = 0, substitutions = 0;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8WithSub(utf16.data(), static_cast<int32_t>(utf16.size()), &length, bytes.data(),
                         static_cast<int32_t>(bytes.size()), 0xFFFD, &substitutions, &status);
    ASSERT_TRUE(U_SUCCESS(status));
    std::u32string expected;
    for (int32_t i = 0; i < length;) {
      UChar32 c;
      U16_NEXT(utf16.data(), i, length, c);
      expected += static_cast<char32_t>(c);
    }
    const DecodedText decoded = decode_utf8(bytes);
    ASSERT_EQ(decoded.text, expected) << "round " << round;
    EXPECT_EQ(decoded.replaced, static_cast<size_t>(substitutions));
    EXPECT_EQ(is_valid_utf8(bytes), substitutions == 0);
    EXPECT_EQ(decode_utf8(encode_utf8(decoded.text)).text, decoded.text);
  }
}

TEST(file, missing_file_names_the_path) {
  try {
    read_file("/nonexistent/glyph-file.txt");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/glyph-file.txt"), std::string::npos);
  }
}

TEST(file, writes_atomically_and_reads_back) {
  const std::string path = test::scratch_dir() + "/out.bin";
  write_file(path, std::string("a\0b", 3));
  EXPECT_EQ(read_file(path), std::string("a\0b", 3));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace glyph
