// The fake server's `ocr` answers: it reads the images of a chat request with Tesseract (the
// project's OCR reader) and answers extractively from what it read, and from nothing else.
//
// What it understands of the text part (the prompts the tasks module writes):
// - "Which pages ..." (the page selector over a global pass): the pages whose drawn page marks
//   ("#12") stand nearest above-left of the recognized lines that best match the question;
//   answered "Pages: 12, 40", or "Pages: none".
// - "Summarize ... in N sentences": N sentences of what was read; a request without images whose
//   text carries material after a line "---" (summaries to merge) is summarized from that text.
// - "Extract the key information ...": the OCR reader's extraction JSON.
// - Anything else is a question (the text before the first blank line). "What is the (special)
//   magic number/value for X?" is answered with the number that follows X in what was read;
//   other questions with the best matching passage. The answer ends with a "> " quote line.
// An answer can therefore only be right when the pixels that hold it were sent legibly.
#pragma once

#include <string>
#include <vector>

#include "image/image.h"

namespace glyph::test {

struct OcrAnswerOptions {
  std::string language = "eng";
  bool use_cache = true;  // the OCR reader's on-disk cache (same pixels read once)
  int threads = 1;
};

// `prompt` is the text of the user message's text parts; `images` its images in order.
std::string fake_ocr_answer(const std::string& prompt, const std::vector<PageImage>& images,
                            const OcrAnswerOptions& options = {});

}  // namespace glyph::test
