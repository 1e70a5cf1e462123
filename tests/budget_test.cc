// Documents longer than the model's context: the fake server's ocr mode (it answers only from
// what it can read off the images it was sent), the budget arithmetic per model family, and the
// plan (global pass, focus, crops) under a budget of visual tokens.
#include "budget/budget.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "read/vlm_reader.h"
#include "support/fake_ocr_answer.h"
#include "support/fake_vlm_server.h"
#include "support/http_client.h"
#include "support/paths.h"
#include "support/run.h"
#include "support/server_process.h"
#include "tasks/tasks.h"
#include "tokens/visual_tokens.h"

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

// The key's words in an unrelated sentence just before another needle: the number that belongs
// to the key is the one right after it, in whichever image it was read.
TEST(fake_ocr_mode, takes_the_number_right_after_the_key_not_after_its_words_elsewhere) {
  const std::string decoy =
      "The teacher summer ledger road field school fence. One of the special magic numbers for "
      "stone-rain is: 4630301.\n";
  const std::string needle = "One of the special magic numbers for ledger-road is: 2732572.\n";
  const std::string prompt =
      "What is the special magic number for ledger-road mentioned in the provided text?";
  const RenderedDocument both(decoy + needle, preset_config("en"));
  const std::string one_image = test::fake_ocr_answer(prompt, page_images(both, {0}), no_cache());
  EXPECT_NE(one_image.find("is 2732572."), std::string::npos) << one_image;
  // The decoy and the needle in two images, the decoy's first.
  const RenderedDocument first(decoy, preset_config("en"));
  const RenderedDocument second(needle, preset_config("en"));
  std::vector<PageImage> images{*first.page_image(0), *second.page_image(0)};
  const std::string two_images = test::fake_ocr_answer(prompt, images, no_cache());
  EXPECT_NE(two_images.find("is 2732572."), std::string::npos) << two_images;
}

TEST(fake_ocr_mode, the_server_answers_from_the_images_of_the_request_and_reports_its_context) {
  test::FakeServerOptions server_options;
  server_options.ocr = true;
  server_options.max_context_tokens = 20000;
  test::FakeVlmServer server(server_options);
  const RenderedDocument document(haystack(120, 70, kNeedle), preset_config("en"));
  VlmReaderOptions options;
  options.base_url = server.url();
  VlmReader reader(options);
  EXPECT_EQ(reader.context_tokens(), 20000);
  ReadRequest request;
  request.prompt = kQuestion;
  PageInput page;
  page.image = document.page_image(page_of_needle(document));
  request.pages.push_back(page);
  const ReadResult result = reader.read(request, {});
  EXPECT_NE(result.content.find("4718265"), std::string::npos) << result.content;
}

// --- budget arithmetic ---

TEST(budget_arithmetic, the_context_of_each_family_minus_prompt_answer_and_template) {
  EXPECT_EQ(family_context_tokens("glyph"), 131072);
  EXPECT_EQ(family_context_tokens("glm-4.1v"), 65536);
  EXPECT_EQ(family_context_tokens("glm-4.5v"), 65536);
  EXPECT_EQ(family_context_tokens("qwen2-vl"), 32768);
  EXPECT_EQ(family_context_tokens("qwen2.5-vl"), 128000);
  EXPECT_EQ(family_context_tokens("qwen3-vl"), 262144);
  EXPECT_EQ(family_context_tokens("internvl3"), 32768);
  EXPECT_EQ(family_context_tokens("gemma3"), 131072);
  EXPECT_EQ(family_context_tokens("deepseek-ocr-gundam"), 8192);
  EXPECT_FALSE(family_context_tokens("no-such-model"));
  // Every family count_visual_tokens knows has a context.
  for (const auto& name : known_visual_models()) EXPECT_TRUE(family_context_tokens(name)) << name;

  const auto unset = budget_from_context(65536, "family table (glm-4.1v)", 100, std::nullopt);
  EXPECT_EQ(unset.answer_tokens, kAnswerReserveTokens);
  EXPECT_EQ(unset.visual_tokens, 65536 - 100 - kAnswerReserveTokens - kChatTemplateTokens);
  const auto given = budget_from_context(131072, "server", 40, 4096);
  EXPECT_EQ(given.visual_tokens, 131072 - 40 - 4096 - kChatTemplateTokens);
  EXPECT_LT(budget_from_context(1000, "server", 10, 2000).visual_tokens, 0);
}

TEST(budget_arithmetic, an_image_costs_its_placeholders_and_wrapper_tokens_per_family) {
  for (const char* model : {"glm-4.1v", "qwen2.5-vl", "qwen3-vl", "internvl3", "gemma3"}) {
    const auto count = count_visual_tokens(model, 595, 842);
    EXPECT_EQ(image_cost(model, 595, 842), count.tokens + count.wrapper_tokens) << model;
  }
  // GLM-4.1V: 28-pixel patches after the resize; a 72-dpi A4 page is about 640.
  EXPECT_NEAR(static_cast<double>(image_cost("glm-4.1v", 595, 842)), 640, 40);
  EXPECT_EQ(image_cost("internvl3", 448, 448),
            256 + count_visual_tokens("internvl3", 448, 448).wrapper_tokens);
}

TEST(global_pass, fits_the_share_and_takes_tiles_when_pages_are_many) {
  const std::vector<std::pair<int, int>> many(1000, {595, 842});
  GlobalPassOptions options;
  int64_t minimum = 0;
  const auto pass = plan_global_pass(many, 8000, options, &minimum);
  ASSERT_TRUE(pass);
  EXPECT_LE(pass->tokens, 8000);
  EXPECT_LE(minimum, pass->tokens);
  // One image per page costs GLM's minimum of 8 tokens + 2 wrappers: 10,000 for 1000 pages.
  EXPECT_EQ(pass->kind, GlobalLayoutKind::tiles);
  options.layout = "pages";
  EXPECT_FALSE(plan_global_pass(many, 8000, options));

  // A few pages and room to spare: a larger scale, one image per page or tiles alike.
  options.layout = "auto";
  const std::vector<std::pair<int, int>> few(10, {595, 842});
  const auto roomy = plan_global_pass(few, 3000, options);
  ASSERT_TRUE(roomy);
  EXPECT_LE(roomy->tokens, 3000);
  EXPECT_GT(roomy->scale, pass->scale);
  EXPECT_THROW(plan_global_pass(few, 3000, GlobalPassOptions{"glm-4.1v", "grid"}), Error);
}

TEST(global_pass, auto_keeps_more_legible_characters_per_visual_token) {
  // The measured table: nothing read up to 2.6 pixels per em, most of the text from 7.
  EXPECT_EQ(legible_share(2.0), 0.0);
  EXPECT_GT(legible_share(5.0), legible_share(4.0));
  EXPECT_GT(legible_share(7.0), 0.6);
  EXPECT_EQ(legible_share(30.0), legible_share(9.0));

  const std::vector<std::pair<int, int>> pages(101, {595, 842});
  auto plan = [&](const char* layout, int64_t budget, double font_px) {
    GlobalPassOptions options;
    options.layout = layout;
    options.font_px = font_px;
    return plan_global_pass(pages, budget, options);
  };
  // 10 tokens a page: both layouts reach the same scale; tiles spend fewer tokens on it.
  const auto same_pages = plan("pages", 1010, 9), same_tiles = plan("tiles", 1010, 9);
  ASSERT_TRUE(same_pages && same_tiles);
  ASSERT_DOUBLE_EQ(same_pages->scale, same_tiles->scale);
  ASSERT_LT(same_tiles->tokens, same_pages->tokens);
  EXPECT_EQ(plan("auto", 1010, 9)->kind, GlobalLayoutKind::tiles);
  EXPECT_EQ(plan("auto", 1010, 0)->kind, GlobalLayoutKind::tiles);

  // A budget where one image per page reaches a larger scale than tiles, for more tokens (the
  // 7% steps of the scale fall so now and then).
  int64_t budget = 0;
  std::optional<GlobalPassPlan> big_pages, big_tiles;
  for (int64_t per_page = 60; per_page <= 400 && !budget; ++per_page) {
    big_pages = plan("pages", per_page * 101, 9);
    big_tiles = plan("tiles", per_page * 101, 9);
    if (big_pages && big_tiles && big_pages->scale > big_tiles->scale + 1e-9 &&
        big_pages->tokens > big_tiles->tokens)
      budget = per_page * 101;
  }
  ASSERT_GT(budget, 0);
  // 9 pixels per em at full size: the layout whose legible share per token is the larger.
  const double per_token_pages = legible_share(9 * big_pages->scale) / big_pages->tokens;
  const double per_token_tiles = legible_share(9 * big_tiles->scale) / big_tiles->tokens;
  EXPECT_EQ(plan("auto", budget, 9)->kind,
            per_token_pages > per_token_tiles ? GlobalLayoutKind::pages : GlobalLayoutKind::tiles);
  // Text a third of that size is illegible at either scale: the cheaper pass.
  EXPECT_EQ(legible_share(3 * big_pages->scale), 0.0);
  EXPECT_EQ(plan("auto", budget, 3)->kind, GlobalLayoutKind::tiles);
  // Without a font size, the larger scale.
  EXPECT_EQ(plan("auto", budget, 0)->kind, GlobalLayoutKind::pages);
}

TEST(global_pass, composes_the_planned_images_with_page_marks) {
  const RenderedDocument document(haystack(400, 10, kNeedle), preset_config("en"));
  std::vector<const PageImage*> pages;
  std::vector<std::shared_ptr<const PageImage>> keep;
  std::vector<std::pair<int, int>> sizes;
  std::vector<int> numbers;
  for (size_t p = 0; p < document.page_count(); ++p) {
    keep.push_back(document.page_image(p));
    pages.push_back(keep.back().get());
    sizes.emplace_back(keep.back()->width_px, keep.back()->height_px);
    numbers.push_back(static_cast<int>(p + 1));
  }
  GlobalPassOptions options;
  options.layout = "tiles";
  options.tile_pages = 3;
  const auto pass = plan_global_pass(sizes, 1500, options);
  ASSERT_TRUE(pass);
  const auto images = compose_global_pass(pages, numbers, *pass, options);
  ASSERT_EQ(static_cast<int>(images.size()), pass->images);
  int64_t tokens = 0;
  for (const auto& image : images)
    tokens += image_cost("glm-4.1v", image.width_px, image.height_px);
  EXPECT_EQ(tokens, pass->tokens);
  // The mark of page 1 is drawn in the first image's top-left band: dark pixels there.
  const int dot = options.mark_dot_px;
  int dark = 0;
  for (int y = 3 * dot; y < 3 * dot + page_mark_height(dot); ++y)
    for (int x = 3 * dot; x < 3 * dot + page_mark_width(1, dot); ++x)
      dark += images[0].row(y)[x * images[0].channels] < 128;
  EXPECT_GT(dark, 20);
}

// --- reads under a budget ---

std::string chat_body(const test::FakeVlmServer& server, size_t nth = 0) {
  size_t seen = 0;
  for (const auto& r : server.requests()) {
    if (r.path != "/v1/chat/completions") continue;
    if (seen++ == nth) return r.body;
  }
  return {};
}

TEST(budget_read, a_document_that_fits_is_sent_byte_for_byte_as_before) {
  const RenderedDocument document(haystack(200, 50, kNeedle), preset_config("en"));
  TaskRequest request;
  request.question = kQuestion;
  // As the task sent it before budgets: every page, then the prompt.
  test::FakeVlmServer before;
  {
    VlmReaderOptions options;
    options.base_url = before.url();
    VlmReader reader(options);
    ReadRequest read;
    read.task = TaskKind::question;
    read.question = request.question;
    read.prompt = build_prompt(request);
    for (size_t p = 0; p < document.page_count(); ++p) {
      PageInput input;
      input.page_number = document.layout().pages[p].number;
      input.image = document.page_image(p);
      input.dpi = document.dpi();
      read.pages.push_back(input);
    }
    reader.read(read, {});
  }
  for (const bool server_context : {false, true}) {
    test::FakeServerOptions server_options;
    if (server_context) server_options.max_context_tokens = 100000;
    test::FakeVlmServer now(server_options);
    VlmReaderOptions options;
    options.base_url = now.url();
    VlmReader reader(options);
    const Answer answer = run_task(document, request, reader, {});
    EXPECT_EQ(chat_body(now), chat_body(before));
    ASSERT_TRUE(answer.plan);
    EXPECT_TRUE(answer.plan->fits);
    EXPECT_EQ(answer.plan->strategy, "all pages");
    EXPECT_EQ(answer.plan->budget_source, server_context ? "server" : "family table (glm-4.1v)");
    EXPECT_EQ(answer.plan->context_tokens, server_context ? 100000 : 65536);
  }
}

TEST(budget_read, a_budget_too_small_for_the_global_pass_names_the_minimum) {
  const RenderedDocument document(haystack(1500, 50, kNeedle), preset_config("en"));
  ASSERT_GE(document.page_count(), 10u);
  test::FakeVlmServer server;
  VlmReaderOptions reader_options;
  reader_options.base_url = server.url();
  VlmReader reader(reader_options);
  TaskRequest request;
  request.question = kQuestion;
  TaskOptions options;
  options.budget = 60;
  std::string message;
  try {
    run_task(document, request, reader, options);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::limit_exceeded);
    message = error.what();
  }
  const size_t at = message.find("give --budget ");
  ASSERT_NE(at, std::string::npos) << message;
  const int64_t minimum = std::stoll(message.substr(at + 14));
  EXPECT_GT(minimum, 60);
  EXPECT_EQ(server.chat_requests(), 0);
  // The minimum it names is enough.
  options.budget = minimum;
  const Answer answer = run_task(document, request, reader, options);
  ASSERT_TRUE(answer.plan);
  EXPECT_LE(answer.plan->tokens, minimum);
}

// Questions over budget through the ocr server: the answer is right only if the needle's pixels
// were among the crops, and its citation lands on the needle's page and lines.
struct OverBudget {
  test::FakeVlmServer server{[] {
    test::FakeServerOptions options;
    options.ocr = true;
    return options;
  }()};
  std::unique_ptr<RenderedDocument> document =
      std::make_unique<RenderedDocument>(haystack(1400, 900, kNeedle), preset_config("en"));
  std::unique_ptr<VlmReader> reader = [this] {
    VlmReaderOptions options;
    options.base_url = server.url();
    return std::make_unique<VlmReader>(options);
  }();
};

TEST(budget_read, a_question_over_budget_is_answered_from_a_global_pass_and_retrieval_crops) {
  OverBudget f;
  const RenderedDocument& document = *f.document;
  TaskRequest request;
  request.question = kQuestion;
  TaskOptions options;
  options.budget = 2500;
  const Answer answer = run_task(document, request, *f.reader, options);
  ASSERT_TRUE(answer.plan);
  const ReadPlan& plan = *answer.plan;
  EXPECT_FALSE(plan.fits);
  EXPECT_GT(plan.all_pages_tokens, 2500);
  EXPECT_EQ(plan.strategy, "global + focus");
  EXPECT_EQ(plan.selector, "retrieval");
  EXPECT_LE(plan.tokens, 2500);
  EXPECT_LT(plan.global_dpi, document.dpi());
  EXPECT_NE(answer.text.find("4718265"), std::string::npos) << answer.text;
  // What the server was sent: global images, then crops at the document's dpi, within budget.
  const auto requests = f.server.requests();
  ASSERT_EQ(f.server.chat_requests(), 1);
  int64_t sent = 0;
  for (const auto& r : requests)
    for (const auto& image : r.images)
      sent += image_cost("glm-4.1v", image.width_px, image.height_px);
  EXPECT_EQ(sent, plan.tokens);
  size_t crops = 0;
  for (const auto& part : plan.parts) {
    if (part.kind != "crop") continue;
    ++crops;
    ASSERT_TRUE(part.box);
    EXPECT_EQ(part.dpi, document.dpi());
    EXPECT_EQ(part.width_px, part.box->right_px - part.box->left_px);
  }
  EXPECT_GT(crops, 0u);
  // The citation maps to the needle's page, inside the box of a crop that was sent.
  const int needle_page = static_cast<int>(page_of_needle(document)) + 1;
  ASSERT_FALSE(answer.citations.empty());
  const Citation& cited = answer.citations.front();
  EXPECT_EQ(cited.page, needle_page);
  EXPECT_NE(document.slice(cited.char_start, cited.char_end).find("4718265"), std::string::npos);
  bool inside = false;
  for (const auto& part : plan.parts) {
    if (part.kind == "crop" && part.pages.front() == needle_page && part.box &&
        cited.bbox_px.top_px >= part.box->top_px && cited.bbox_px.bottom_px <= part.box->bottom_px)
      inside = true;
  }
  EXPECT_TRUE(inside);
}

TEST(budget_read, the_model_selector_names_pages_from_the_marks_of_the_global_pass) {
  OverBudget f;
  TaskRequest request;
  request.question = kQuestion;
  TaskOptions options;
  options.budget = 2500;
  options.selector = "model";
  options.global_layout = "pages";
  // A short document: its global pass is legible enough at this budget to find the page.
  const RenderedDocument document(haystack(500, 300, kNeedle), preset_config("en"));
  const Answer answer = run_task(document, request, *f.reader, options);
  ASSERT_TRUE(answer.plan);
  EXPECT_EQ(answer.plan->requests, 2);
  const int needle_page = static_cast<int>(page_of_needle(document)) + 1;
  ASSERT_FALSE(answer.plan->focus_pages.empty()) << answer.steps.front();
  EXPECT_EQ(answer.plan->selector, "model");
  EXPECT_EQ(answer.plan->focus_pages.front(), needle_page);
  EXPECT_NE(answer.text.find("4718265"), std::string::npos) << answer.text;
  EXPECT_LE(answer.plan->tokens, 2500);
}

TEST(budget_read, a_summary_over_budget_maps_chunks_that_fit_and_reduces_their_summaries) {
  test::FakeServerOptions server_options;
  server_options.ocr = true;
  test::FakeVlmServer server(server_options);
  const RenderedDocument document(haystack(400, 100, kNeedle), preset_config("en"));
  ASSERT_GE(document.page_count(), 4u);
  TaskRequest request;
  request.task = TaskKind::summary;
  request.summary_sentences = 3;
  TaskOptions options;
  const int64_t page_cost =
      image_cost("glm-4.1v", document.page_image(0)->width_px, document.page_image(0)->height_px);
  options.budget = 2 * page_cost;
  options.concurrency = 2;
  std::atomic<int> readers{0};
  options.make_reader = [&] {
    ++readers;
    VlmReaderOptions o;
    o.base_url = server.url();
    return std::make_unique<VlmReader>(o);
  };
  VlmReaderOptions reader_options;
  reader_options.base_url = server.url();
  VlmReader reader(reader_options);
  const Answer answer = run_task(document, request, reader, options);
  ASSERT_TRUE(answer.plan);
  EXPECT_EQ(answer.plan->strategy, "map-reduce");
  const int chunks = static_cast<int>((document.page_count() + 1) / 2);
  EXPECT_EQ(answer.plan->requests, chunks + 1);
  EXPECT_EQ(server.chat_requests(), chunks + 1);
  EXPECT_EQ(readers.load(), 1);  // the second worker's reader
  for (const auto& r : server.requests()) {
    int64_t tokens = 0;
    for (const auto& image : r.images)
      tokens += image_cost("glm-4.1v", image.width_px, image.height_px);
    EXPECT_LE(tokens, *options.budget);
  }
  // The reduce step got the chunks' summaries as text, and no image.
  const auto last = server.requests().back();
  EXPECT_TRUE(last.images.empty());
  EXPECT_NE(last.text.find("Pages 1-2: "), std::string::npos);
  EXPECT_FALSE(answer.text.empty());
  ASSERT_FALSE(answer.citations.empty()) << answer.text;
  for (const auto& c : answer.citations) {
    EXPECT_GE(c.page, 1);
    EXPECT_LE(c.page, static_cast<int>(document.page_count()));
  }
}

TEST(budget_read, an_extraction_over_budget_merges_what_each_chunk_found) {
  test::FakeServerOptions server_options;
  server_options.ocr = true;
  test::FakeVlmServer server(server_options);
  std::string text = haystack(200, 10, "Invoice number: 55120.") + "\n" +
                     haystack(200, 150, "Due date: 2026-03-14.");
  const RenderedDocument document(text, preset_config("en"));
  TaskRequest request;
  request.task = TaskKind::extraction;
  request.fields = {"invoice number", "due date"};
  TaskOptions options;
  options.budget =
      image_cost("glm-4.1v", document.page_image(0)->width_px, document.page_image(0)->height_px);
  VlmReaderOptions reader_options;
  reader_options.base_url = server.url();
  VlmReader reader(reader_options);
  const Answer answer = run_task(document, request, reader, options);
  ASSERT_TRUE(answer.plan);
  EXPECT_EQ(answer.plan->strategy, "map-reduce");
  EXPECT_EQ(server.chat_requests(), static_cast<int>(document.page_count()));
  const auto j = nlohmann::json::parse(answer.extraction_json);
  ASSERT_TRUE(j.contains("fields")) << answer.extraction_json;
  EXPECT_NE(j["fields"].dump().find("55120"), std::string::npos) << answer.extraction_json;
  EXPECT_NE(j["fields"].dump().find("2026-03-14"), std::string::npos) << answer.extraction_json;
}

// The CLI end to end over budget: ask, summarize and extract through the ocr server, the plan
// in --json and with -v.
TEST(budget_e2e, ask_summarize_and_extract_over_budget_through_the_cli) {
  test::FakeServerOptions server_options;
  server_options.ocr = true;
  server_options.max_context_tokens = 3000;  // reported as max_model_len: the default budget
  test::FakeVlmServer server(server_options);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("glyph-budget-" + std::to_string(::getpid()) + ".txt"))
                               .string();
  write_file(path, haystack(500, 300, kNeedle) + "\nInvoice number: 55120.\n");
  const std::string common = " --url " + server.url() + " -c en";

  const auto ask = test::run_glyph("ask " + path + " -q '" + kQuestion + "' --json" + common);
  ASSERT_EQ(ask.exit_code, 0) << ask.err;
  const auto j = nlohmann::json::parse(ask.out);
  EXPECT_NE(j.at("answer").get<std::string>().find("4718265"), std::string::npos) << ask.out;
  const auto& plan = j.at("plan");
  EXPECT_EQ(plan.at("budget_source"), "server");
  EXPECT_EQ(plan.at("context_tokens"), 3000);
  EXPECT_EQ(plan.at("strategy"), "global + focus");
  EXPECT_LE(plan.at("tokens").get<int64_t>(), plan.at("budget").get<int64_t>());
  EXPECT_EQ(plan.at("parts").at(0).at("kind"), "global");
  ASSERT_FALSE(j.at("citations").empty());

  const auto verbose = test::run_glyph("ask " + path + " -q '" + kQuestion + "' -v --budget 1500" +
                                       common + " --selector model");
  ASSERT_EQ(verbose.exit_code, 0) << verbose.err;
  EXPECT_NE(verbose.err.find("plan: global + focus; budget 1500 visual tokens (--budget)"),
            std::string::npos)
      << verbose.err;
  EXPECT_NE(verbose.err.find("  crop"), std::string::npos) << verbose.err;

  const auto summary =
      test::run_glyph("summarize " + path + " --json --budget 1400 --concurrency 2" + common);
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  const auto js = nlohmann::json::parse(summary.out);
  EXPECT_EQ(js.at("plan").at("strategy"), "map-reduce");
  EXPECT_FALSE(js.at("answer").get<std::string>().empty());

  const auto extract = test::run_glyph("extract " + path +
                                       " --json --budget 1400 --fields 'invoice number'" + common);
  ASSERT_EQ(extract.exit_code, 0) << extract.err;
  EXPECT_NE(extract.out.find("55120"), std::string::npos) << extract.out;

  const auto tiny = test::run_glyph("ask " + path + " -q 'x' --budget 30" + common);
  EXPECT_NE(tiny.exit_code, 0);
  EXPECT_NE(tiny.err.find("give --budget "), std::string::npos) << tiny.err;
  std::filesystem::remove(path);
}

// The API: "budget" and "selector" on /v1/ask, the plan in the answer, bad values refused.
TEST(budget_e2e, the_api_takes_a_budget_and_returns_the_plan) {
  test::FakeServerOptions fake_options;
  fake_options.ocr = true;
  test::FakeVlmServer fake(fake_options);
  test::ServerProcess server(test::scratch_dir() + "/budget-data",
                             {"--url", fake.url(), "--model", fake.model()});
  nlohmann::json body = {{"text", haystack(500, 300, kNeedle)},
                         {"config", {{"preset", "en"}}},
                         {"mode", "qa"},
                         {"question", kQuestion},
                         {"budget", 1500}};
  const auto r = test::http_request(server.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_NE(j.at("answer").get<std::string>().find("4718265"), std::string::npos) << r.body;
  EXPECT_EQ(j.at("plan").at("strategy"), "global + focus");
  EXPECT_EQ(j.at("plan").at("budget"), 1500);
  EXPECT_LE(j.at("plan").at("tokens").get<int64_t>(), 1500);

  body["budget"] = -5;
  EXPECT_EQ(test::http_request(server.port(), "POST", "/v1/ask", body.dump()).status, 400);
  body["budget"] = 1500;
  body["selector"] = "oracle";
  EXPECT_EQ(test::http_request(server.port(), "POST", "/v1/ask", body.dump()).status, 400);
  const nlohmann::json render = {{"text", "short"}, {"budget", 1500}};
  EXPECT_EQ(test::http_request(server.port(), "POST", "/v1/render", render.dump()).status, 400);
}

// A job over budget: `glyph serve` reads with the ocr server as its model; the job's request
// keeps its budget and selector, its result carries the plan, and a budget too small for the
// global pass fails the job with the minimum named.
TEST(budget_e2e, a_job_reads_a_document_over_budget_and_returns_the_plan) {
  test::FakeServerOptions fake_options;
  fake_options.ocr = true;
  test::FakeVlmServer fake(fake_options);
  test::ServerProcess server(test::scratch_dir() + "/budget-jobs",
                             {"--url", fake.url(), "--model", fake.model(), "--workers", "1"});
  const int port = server.port();
  auto run_job = [port](const nlohmann::json& body) {
    const auto queued = test::http_request(port, "POST", "/v1/jobs", body.dump());
    EXPECT_EQ(queued.status, 202) << queued.body;
    const std::string id = nlohmann::json::parse(queued.body).at("id");
    nlohmann::json job;
    for (int i = 0; i < 1200; ++i) {
      job = nlohmann::json::parse(test::http_request(port, "GET", "/v1/jobs/" + id).body);
      if (job.at("state") != "queued" && job.at("state") != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return job;
  };
  nlohmann::json body = {{"text", haystack(2600, 1900, kNeedle)},
                         {"config", {{"preset", "en"}}},
                         {"mode", "qa"},
                         {"question", kQuestion},
                         {"budget", 2000},
                         {"selector", "retrieval"}};
  const auto job = run_job(body);
  ASSERT_EQ(job.at("state"), "done") << job.dump();
  const auto& result = job.at("result");
  EXPECT_NE(result.at("answer").get<std::string>().find("4718265"), std::string::npos)
      << result.dump();
  const auto& plan = result.at("plan");
  EXPECT_EQ(plan.at("budget"), 2000);
  EXPECT_EQ(plan.at("budget_source"), "--budget");
  EXPECT_FALSE(plan.at("fits").get<bool>());
  EXPECT_GT(plan.at("all_pages_tokens").get<int64_t>(), 2000);
  EXPECT_EQ(plan.at("strategy"), "global + focus");
  EXPECT_EQ(plan.at("selector"), "retrieval");
  // Global images first, then crops; the parts add up to the tokens sent, within the budget.
  int64_t sum = 0;
  size_t globals = 0, crops = 0, global_pages = 0;
  for (const auto& part : plan.at("parts")) {
    sum += part.at("tokens").get<int64_t>();
    if (part.at("kind") == "global") {
      EXPECT_EQ(crops, 0u) << "a global image after a crop: " << plan.dump();
      ++globals;
      global_pages += part.at("pages").size();
    } else {
      EXPECT_EQ(part.at("kind"), "crop");
      EXPECT_TRUE(part.contains("box_px"));
      ++crops;
    }
  }
  EXPECT_GT(globals, 0u);
  EXPECT_GE(global_pages, 15u);  // every page of the document, in the global pass
  EXPECT_GT(crops, 0u);
  EXPECT_EQ(sum, plan.at("tokens").get<int64_t>());
  EXPECT_LE(plan.at("tokens").get<int64_t>(), 2000);

  body["budget"] = 40;
  const auto tiny = run_job(body);
  ASSERT_EQ(tiny.at("state"), "failed") << tiny.dump();
  const std::string message = tiny.at("error").at("message");
  const size_t at = message.find("give --budget ");
  ASSERT_NE(at, std::string::npos) << message;
  EXPECT_GT(std::stoll(message.substr(at + 14)), 40) << message;
}

}  // namespace
}  // namespace glyph
