#include "read/ocr_reader.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "image/image.h"
#include "read/ocr_detail.h"
#include "support/paths.h"

namespace glyph {
namespace {

TEST(ocr_confusions, reads_a_lone_bar_as_the_pronoun_and_a_star_after_punctuation_as_a_quote) {
  EXPECT_EQ(detail::fix_common_confusions("|"), "I");
  EXPECT_EQ(detail::fix_common_confusions("\u201C|"), "\u201CI");
  EXPECT_EQ(detail::fix_common_confusions("|'m"), "I'm");
  EXPECT_EQ(detail::fix_common_confusions("|."), "I.");
  EXPECT_EQ(detail::fix_common_confusions("you.*"), "you.\"");
  EXPECT_EQ(detail::fix_common_confusions("you.*[2]"), "you.\"[2]");
  // Where the characters belong, nothing changes.
  EXPECT_EQ(detail::fix_common_confusions("a|b"), "a|b");
  EXPECT_EQ(detail::fix_common_confusions("|x|"), "|x|");
  EXPECT_EQ(detail::fix_common_confusions("2*3"), "2*3");
  EXPECT_EQ(detail::fix_common_confusions("*note"), "*note");
}

TEST(ocr_reader, refuses_a_missing_language_and_an_empty_image_with_clear_errors) {
  OcrOptions options;
  options.language = "klingon";
  options.use_cache = false;
  PageInput input;
  input.page_number = 1;
  input.image = std::make_shared<PageImage>(40, 20, 1, 255);
  try {
    recognize_pages({input}, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
    EXPECT_NE(std::string(e.what()).find("klingon.traineddata"), std::string::npos) << e.what();
  }
  input.image = std::make_shared<PageImage>();
  EXPECT_THROW(recognize_pages({input}, OcrOptions{}), Error);
}

TEST(ocr_reader, cache_key_depends_on_pixels_and_options) {
  PageImage a(30, 10, 1, 255);
  PageImage b = a;
  b.pixels[17] = 0;
  OcrOptions options;
  const std::string key = ocr_cache_key(a, options);
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key, ocr_cache_key(a, options));
  EXPECT_NE(key, ocr_cache_key(b, options));
  OcrOptions other = options;
  other.upscale = 3;
  EXPECT_NE(key, ocr_cache_key(a, other));
  EXPECT_NE(key, ocr_cache_key(a, options, 96));  // another dpi, another enlargement
  EXPECT_DOUBLE_EQ(effective_upscale(options, 72), 2.0);
  EXPECT_DOUBLE_EQ(effective_upscale(options, 48), 3.0);
  EXPECT_DOUBLE_EQ(effective_upscale(options, 300), 1.0);
  EXPECT_DOUBLE_EQ(effective_upscale(other, 48), 3.0);
  other = options;
  other.language = "chi_sim";
  EXPECT_NE(key, ocr_cache_key(a, other));
}

}  // namespace
}  // namespace glyph
