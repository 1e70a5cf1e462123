// Documents longer than the model's context: the fake server's ocr mode (it answers only from
// what it can read off the images it was sent), the budget arithmetic per model family, and the
// plan (global pass, focus, crops) under a budget of visual tokens.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "support/fake_ocr_answer.h"
#include "tasks/tasks.h"

namespace glyph {
namespace {

// A haystack of plain sentences with one needle sentence after `needle_after` of them.
std::string haystack(int sentences, int needle_after, const std::string& needle) {
  static const char* kFiller[] = {
      "The committee met again in the spring to review the harbour accounts.",
      "Rain fell on the valley for most of the week and the roads were closed.",
      "A new bridge was planned across the river, though no money was found for it.",
      "The teachers asked for more books and a second room for the younger pupils.",
      "Merchants from the coast brought salt, cloth and dried fish to the market.",
  };
  std::string text;
  for (int i = 0; i < sentences; ++i) {
    if (i == needle_after) text += needle + " ";
    text += kFiller[i % 5];
    text += (i % 7 == 6) ? "\n" : " ";
  }
  return text;
}

const char* kNeedle = "One of the special magic numbers for quiet-lantern is: 4718265.";
const char* kQuestion = "What is the special magic number for quiet-lantern mentioned in the text?";

std::vector<PageImage> page_images(const RenderedDocument& document,
                                   const std::vector<size_t>& pages) {
  std::vector<PageImage> images;
  for (size_t p : pages) images.push_back(*document.page_image(p));
  return images;
}

size_t page_of_needle(const RenderedDocument& document) {
  const std::string text = document.slice(0, document.text().size());
  const size_t byte = text.find("quiet-lantern");
  const size_t chars = decode_utf8(text.substr(0, byte)).text.size();
  for (size_t p = 0; p < document.page_count(); ++p)
    if (chars < document.layout().pages[p].char_end) return p;
  return document.page_count() - 1;
}

test::OcrAnswerOptions no_cache() {
  test::OcrAnswerOptions options;
  options.use_cache = false;
  return options;
}

TEST(fake_ocr_mode, answers_the_magic_number_only_from_a_legible_page_that_holds_it) {
  const RenderedDocument document(haystack(120, 70, kNeedle), preset_config("en"));
  ASSERT_GE(document.page_count(), 2u);
  const size_t needle_page = page_of_needle(document);
  const size_t other_page = needle_page == 0 ? 1 : 0;
  const std::string prompt = std::string(kQuestion) + "\n\nAfter your answer, quote the sentence.";

  const std::string right =
      test::fake_ocr_answer(prompt, page_images(document, {needle_page}), no_cache());
  EXPECT_NE(right.find("4718265"), std::string::npos) << right;
  EXPECT_NE(right.find("\n> "), std::string::npos) << right;

  // The page without the needle: the number cannot be read.
  const std::string absent =
      test::fake_ocr_answer(prompt, page_images(document, {other_page}), no_cache());
  EXPECT_EQ(absent.find("4718265"), std::string::npos) << absent;

  // The right page, too small to read (a quarter of its size each way).
  const auto page = document.page_image(needle_page);
  std::vector<PageImage> tiny{resize_area(*page, page->width_px / 4, page->height_px / 4)};
  const std::string illegible = test::fake_ocr_answer(prompt, tiny, no_cache());
  EXPECT_EQ(illegible.find("4718265"), std::string::npos) << illegible;

  // No image at all.
  EXPECT_EQ(test::fake_ocr_answer(prompt, {}, no_cache()).find("4718265"), std::string::npos);
}

}  // namespace
}  // namespace glyph
