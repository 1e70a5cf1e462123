// Reads that do not fit the model's context: the budget of visual tokens, the global pass with
// focused crops for questions, map-reduce over chunks of pages for summaries and extractions.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "budget/budget.h"
#include "core/clock.h"
#include "core/error.h"
#include "image/image.h"
#include "layout/layout.h"
#include "retrieval/retrieval.h"
#include "tasks/detail.h"
#include "tokens/tokenizer.h"

namespace glyph::detail {
namespace {

using Clock = std::chrono::steady_clock;

// What the last request of a question over budget adds after the question's prompt.
constexpr const char* kGlobalNote =
    "The first images show every page of the document at low resolution, each marked with its "
    "page number (\"#12\"); the images after them are regions of pages at full resolution.";

std::string selector_prompt(const std::string& question) {
  return "The images show every page of a document at low resolution, each marked with its page "
         "number (\"#12\") above it. Which pages hold the answer to the question below? Answer "
         "with the page numbers only, best first, e.g. \"Pages: 3, 17\".\nQuestion: " +
         question;
}

int64_t text_tokens(const std::string& text, const std::string& tokenizer_path) {
  try {
    return static_cast<int64_t>(shared_tokenizer(tokenizer_path).count(text));
  } catch (const Error&) {
    return static_cast<int64_t>(text.size() + 2) / 3;  // no tokenizer.json: a cautious estimate
  }
}

PlanPart part_of(const PageInput& input, const std::string& kind, std::vector<int> pages,
                 const std::string& model) {
  PlanPart part;
  part.kind = kind;
  part.pages = std::move(pages);
  part.box = input.crop_of;
  part.dpi = input.dpi;
  part.width_px = input.image->width_px;
  part.height_px = input.image->height_px;
  part.tokens = image_cost(model, part.width_px, part.height_px);
  return part;
}

std::string page_list(const std::vector<int>& pages) {
  std::string out;
  for (int page : pages) out += (out.empty() ? "" : ", ") + std::to_string(page);
  return out;
}

void add_usage(Answer& answer, const ReadResult& result) {
  auto add = [](int& total, int more) {
    if (more < 0) return;
    total = std::max(total, 0) + more;
  };
  add(answer.usage.prompt_tokens, result.usage.prompt_tokens);
  add(answer.usage.completion_tokens, result.usage.completion_tokens);
}

// Reads the requests, at most options.concurrency at once when options.make_reader gives
// readers for the other threads; results in request order. The first failure is rethrown.
std::vector<ReadResult> read_all(const std::vector<ReadRequest>& requests, Reader& reader,
                                 const TaskOptions& options, const TaskCallbacks& callbacks) {
  std::vector<ReadResult> results(requests.size());
  const size_t workers =
      options.make_reader
          ? std::clamp<size_t>(static_cast<size_t>(std::max(1, options.concurrency)), 1,
                               requests.size())
          : 1;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex mutex;
  std::exception_ptr failure;
  auto work = [&](Reader& r) {
    for (;;) {
      const size_t i = next++;
      if (i >= requests.size()) return;
      {
        std::lock_guard lock(mutex);
        if (failure) return;
      }
      try {
        results[i] = r.read(requests[i], read_callbacks(callbacks, false));
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        return;
      }
      const size_t finished = ++done;
      if (callbacks.on_progress) {
        std::lock_guard lock(mutex);
        callbacks.on_progress({"read", finished, requests.size()});
      }
    }
  };
  if (workers == 1) {
    work(reader);
  } else {
    std::vector<std::unique_ptr<Reader>> readers;
    for (size_t w = 1; w < workers; ++w) readers.push_back(options.make_reader());
    std::vector<std::thread> threads;
    for (auto& r : readers) threads.emplace_back([&work, &r] { work(*r); });
    work(reader);
    for (auto& t : threads) t.join();
  }
  if (failure) std::rethrow_exception(failure);
  return results;
}

// Page numbers in a selector's answer that are pages of the document, in order, once each.
std::vector<int> parse_pages(const std::string& text, int page_count) {
  std::vector<int> pages;
  static const std::regex number(R"(\d+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), number);
       it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    if (digits.size() > 6) continue;
    const int page = std::stoi(digits);
    if (page >= 1 && page <= page_count &&
        std::find(pages.begin(), pages.end(), page) == pages.end())
      pages.push_back(page);
  }
  return pages;
}

// Crops of the best line windows (BM25 over the layout map) that fit `tokens`.
std::vector<PageInput> retrieval_crops(const RenderedDocument& document,
                                       const std::string& question, int64_t tokens,
                                       const std::string& model, std::vector<int>& pages) {
  const auto windows = line_windows(document);
  std::vector<std::string> texts;
  texts.reserve(windows.size());
  for (const auto& w : windows) texts.push_back(w.text);
  const Bm25Index index(texts);
  const auto hits = index.search(question, 400);
  std::vector<LineWindow> chosen;
  int64_t spent = 0;
  for (const auto& hit : hits) {
    const LineWindow& window = windows[hit.document];
    const auto alone = focus_crops(document, {window});
    if (alone.empty()) continue;
    const int64_t cost =
        image_cost(model, alone.front().image->width_px, alone.front().image->height_px);
    if (spent + cost > tokens) continue;  // a smaller one may still fit
    spent += cost;
    chosen.push_back(window);
    const int page = document.layout().pages[window.page_index].number;
    if (std::find(pages.begin(), pages.end(), page) == pages.end()) pages.push_back(page);
  }
  // Merged crops cost no more than their parts, give or take rounding: check and trim.
  for (;;) {
    auto crops = focus_crops(document, chosen);
    int64_t total = 0;
    for (const auto& c : crops) total += image_cost(model, c.image->width_px, c.image->height_px);
    if (total <= tokens || chosen.empty()) return crops;
    chosen.pop_back();
  }
}

Answer ask_over_budget(const RenderedDocument& document, const TaskRequest& request, Reader& reader,
                       const TaskOptions& options, const TaskCallbacks& callbacks, ReadPlan plan,
                       Answer answer) {
  const std::string& model = options.visual_token_model;
  const int page_count = static_cast<int>(document.page_count());
  std::string prompt = build_prompt(request) + "\n\n" + kGlobalNote;
  int64_t budget = plan.budget;
  if (plan.budget_source != "--budget") budget -= text_tokens(kGlobalNote, options.tokenizer_path);

  std::vector<std::pair<int, int>> sizes;
  std::vector<const PageImage*> images;
  std::vector<std::shared_ptr<const PageImage>> keep;
  std::vector<int> numbers;
  for (size_t p = 0; p < document.page_count(); ++p) {
    keep.push_back(document.page_image(p));
    images.push_back(keep.back().get());
    sizes.emplace_back(keep.back()->width_px, keep.back()->height_px);
    numbers.push_back(document.layout().pages[p].number);
  }
  // The least a focus needs: one region of a few lines across the page.
  const int64_t min_focus =
      image_cost(model, sizes.front().first, std::max(1, sizes.front().second / 12));
  GlobalPassOptions global;
  global.model = model;
  global.layout = options.global_layout;
  global.font_px = document.config().font_size_pt * document.dpi() / 72.0;
  int64_t minimum_global = 0;
  // The global pass takes its share, and always leaves room for one focused region.
  const int64_t share =
      std::min(static_cast<int64_t>(std::floor(budget * options.global_share)), budget - min_focus);
  auto pass = plan_global_pass(sizes, share, global, &minimum_global);
  if (!pass) pass = plan_global_pass(sizes, budget - min_focus, global, &minimum_global);
  if (!pass) {
    const int64_t needed = minimum_global + min_focus + (plan.budget - budget);
    throw Error(ErrorCode::limit_exceeded,
                "a budget of " + std::to_string(plan.budget) +
                    " visual tokens is too small for this document: its " +
                    std::to_string(page_count) + " pages need at least " + std::to_string(needed) +
                    " (a global pass at its smallest, " + std::to_string(minimum_global) +
                    ", and one focused region, " + std::to_string(min_focus) + "); give --budget " +
                    std::to_string(needed) + " or more");
  }
  const auto composed = compose_global_pass(images, numbers, *pass, global);
  keep.clear();
  std::vector<PageInput> inputs;
  for (size_t i = 0; i < composed.size(); ++i) {
    PageInput input;
    const size_t first = i * static_cast<size_t>(pass->pages_per_image);
    const size_t last = std::min(numbers.size(), first + pass->pages_per_image);
    input.page_number = numbers[first];
    input.image = std::make_shared<const PageImage>(std::move(composed[i]));
    input.dpi = document.dpi() * pass->scale;
    plan.parts.push_back(part_of(
        input, "global", std::vector<int>(numbers.begin() + first, numbers.begin() + last), model));
    inputs.push_back(std::move(input));
  }
  plan.strategy = "global + focus";
  plan.global_layout = std::string(to_string(pass->kind));
  plan.global_dpi = document.dpi() * pass->scale;
  plan.global_tokens = pass->tokens;
  int64_t remaining = budget - pass->tokens;
  plan.requests = 0;
  char line[200];
  std::snprintf(line, sizeof line,
                "global pass: %d pages in %d image(s) (%s layout) at %.1f dpi, %lld visual tokens",
                page_count, pass->images, plan.global_layout.c_str(), plan.global_dpi,
                static_cast<long long>(pass->tokens));
  answer.steps.push_back(line);

  std::vector<PageInput> crops;
  plan.selector = options.selector;
  if (options.selector == "model") {
    ReadRequest select;
    select.task = TaskKind::question;
    select.question = request.question;
    select.prompt = selector_prompt(request.question);
    select.sampling = request.sampling;
    select.pages = inputs;
    const ReadResult chosen = reader.read(select, read_callbacks(callbacks, false));
    ++plan.requests;
    add_usage(answer, chosen);
    const auto pages = parse_pages(chosen.content, page_count);
    for (int page : pages) {
      size_t index = 0;
      while (index < document.page_count() && document.layout().pages[index].number != page)
        ++index;
      PageInput whole = whole_page_input(document, index);
      whole.crop_of = PixelBox{0, 0, whole.image->width_px, whole.image->height_px};
      const int64_t cost = image_cost(model, whole.image->width_px, whole.image->height_px);
      if (cost > remaining) break;
      remaining -= cost;
      plan.focus_pages.push_back(page);
      crops.push_back(std::move(whole));
    }
    answer.steps.push_back("model selector: \"" + chosen.content.substr(0, 80) + "\" -> pages " +
                           (plan.focus_pages.empty() ? "none" : page_list(plan.focus_pages)));
    if (plan.focus_pages.empty()) {
      plan.selector = "retrieval (the model named no page)";
    }
  }
  if (plan.focus_pages.empty()) {
    crops = retrieval_crops(document, request.question, remaining, model, plan.focus_pages);
    answer.steps.push_back("retrieval: " + std::to_string(crops.size()) + " region(s) on pages " +
                           (plan.focus_pages.empty() ? "none" : page_list(plan.focus_pages)));
  }
  for (const auto& crop : crops) {
    plan.parts.push_back(part_of(crop, "crop", {crop.page_number}, model));
    inputs.push_back(crop);
  }
  plan.tokens = 0;
  for (const auto& part : plan.parts) plan.tokens += part.tokens;

  ReadRequest read;
  read.task = request.task;
  read.question = request.question;
  read.prompt = prompt;
  read.sampling = request.sampling;
  read.pages = std::move(inputs);
  const ReadResult result = reader.read(read, read_callbacks(callbacks, true));
  ++plan.requests;
  detail::take_result(answer, result);
  add_usage(answer, result);
  answer.images_read = static_cast<int>(read.pages.size());
  answer.citations = cite_answer(document, request.question, result.content);
  std::snprintf(line, sizeof line, "sent %zu image(s), %lld of %lld visual tokens, to %s",
                read.pages.size(), static_cast<long long>(plan.tokens),
                static_cast<long long>(plan.budget), result.model.c_str());
  answer.steps.push_back(line);
  answer.plan = std::move(plan);
  return answer;
}

// Merges the extraction JSON objects of chunks: arrays concatenated, fields the first value given.
std::string merge_extractions(const std::vector<std::string>& objects) {
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& text : objects) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& [key, value] : j.items()) {
      if (value.is_array()) {
        if (!merged.contains(key)) merged[key] = nlohmann::json::array();
        if (merged[key].is_array())
          for (const auto& item : value) merged[key].push_back(item);
      } else if (value.is_object()) {
        if (!merged.contains(key)) merged[key] = nlohmann::json::object();
        for (const auto& [field, v] : value.items())
          if (!merged[key].contains(field) || merged[key][field].is_null()) merged[key][field] = v;
      } else if (!merged.contains(key)) {
        merged[key] = value;
      }
    }
  }
  return merged.dump(2);
}

Answer map_reduce(const RenderedDocument& document, const TaskRequest& request, Reader& reader,
                  const TaskOptions& options, const TaskCallbacks& callbacks, ReadPlan plan,
                  Answer answer) {
  const std::string& model = options.visual_token_model;
  // Chunks: consecutive pages whose images fit the budget together.
  std::vector<ReadRequest> chunks;
  int64_t chunk_tokens = 0;
  int64_t largest = 0;
  for (size_t p = 0; p < document.page_count(); ++p) {
    PageInput page = whole_page_input(document, p);
    const int64_t cost = image_cost(model, page.image->width_px, page.image->height_px);
    if (cost > plan.budget) {
      throw Error(ErrorCode::limit_exceeded,
                  "a budget of " + std::to_string(plan.budget) +
                      " visual tokens is too small: page " + std::to_string(page.page_number) +
                      " alone needs " + std::to_string(cost) + "; give --budget " +
                      std::to_string(cost) + " or more, or a lower --dpi");
    }
    if (chunks.empty() || chunk_tokens + cost > plan.budget) {
      ReadRequest chunk;
      chunk.task = request.task;
      chunk.question = request.question;
      chunk.fields = request.fields;
      chunk.prompt = build_prompt(request);
      chunk.sampling = request.sampling;
      chunks.push_back(std::move(chunk));
      chunk_tokens = 0;
      plan.parts.push_back({"chunk", {}, std::nullopt, document.dpi(), 0, 0, 0});
    }
    chunk_tokens += cost;
    largest = std::max(largest, chunk_tokens);
    plan.parts.back().pages.push_back(page.page_number);
    plan.parts.back().tokens = chunk_tokens;
    chunks.back().pages.push_back(std::move(page));
  }
  plan.strategy = "map-reduce";
  plan.tokens = largest;
  const auto read_start = Clock::now();
  const auto results = read_all(chunks, reader, options, callbacks);
  plan.requests = static_cast<int>(chunks.size());
  for (const auto& r : results) add_usage(answer, r);
  answer.images_read = static_cast<int>(document.page_count());
  answer.steps.push_back("map: " + std::to_string(chunks.size()) + " chunks of pages (at most " +
                         std::to_string(largest) + " visual tokens each), " +
                         std::to_string(std::max(1, options.concurrency)) + " at once");
  if (request.task == TaskKind::extraction) {
    std::vector<std::string> objects;
    for (const auto& r : results) objects.push_back(json_of(r.content));
    answer.extraction_json = merge_extractions(objects);
    answer.text = answer.extraction_json;
    answer.model = results.empty() ? "" : results.back().model;
    if (callbacks.on_content) callbacks.on_content(answer.text);
    std::vector<Citation> citations;
    for (const auto& r : results) {
      auto more = cite_answer(document, "", r.content);
      citations.insert(citations.end(), more.begin(), more.end());
    }
    answer.citations = std::move(citations);
  } else {
    std::string summaries;
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& pages = plan.parts[i].pages;
      summaries += "Pages " + std::to_string(pages.front()) + "-" + std::to_string(pages.back()) +
                   ": " + results[i].content + "\n";
    }
    ReadRequest reduce;
    reduce.task = TaskKind::summary;
    reduce.sampling = request.sampling;
    reduce.prompt = "Summarize the following summaries of consecutive parts of one document in " +
                    std::to_string(request.summary_sentences) +
                    " sentences. Keep names, numbers and dates exactly as written.\n---\n" +
                    summaries;
    const ReadResult result = reader.read(reduce, read_callbacks(callbacks, true));
    ++plan.requests;
    detail::take_result(answer, result);
    add_usage(answer, result);
    // Each sentence of the summary cited on its own: a summary of a long document draws on
    // places far apart.
    for (const auto& span : split_sentences(result.content)) {
      const auto cited =
          cite_answer(document, "", result.content.substr(span.begin, span.end - span.begin));
      if (!cited.empty()) answer.citations.push_back(cited.front());
    }
    answer.steps.push_back("reduce: a summary of the " + std::to_string(results.size()) +
                           " summaries");
  }
  answer.timings.read_seconds = seconds_since(read_start);
  answer.plan = std::move(plan);
  return answer;
}

}  // namespace

std::optional<ReadPlan> budget_plan(const RenderedDocument& document, const TaskRequest& request,
                                    Reader& reader, const TaskOptions& options,
                                    const TaskCallbacks& callbacks) {
  ReadPlan plan;
  plan.prompt_tokens = text_tokens(build_prompt(request), options.tokenizer_path);
  if (options.budget) {
    if (*options.budget <= 0)
      throw Error(ErrorCode::invalid_argument,
                  "the budget must be a positive number of visual tokens, not " +
                      std::to_string(*options.budget));
    plan.budget = *options.budget;
    plan.budget_source = "--budget";
  } else {
    std::optional<int64_t> context = reader.context_tokens();
    std::string source = "server";
    if (!context) {
      context = family_context_tokens(options.visual_token_model);
      source = "family table (" + options.visual_token_model + ")";
    }
    if (!context) return std::nullopt;
    const auto arithmetic =
        budget_from_context(*context, source, plan.prompt_tokens, request.sampling.max_tokens);
    plan.budget = arithmetic.visual_tokens;
    plan.budget_source = arithmetic.context_source;
    plan.context_tokens = arithmetic.context_tokens;
    plan.answer_tokens = arithmetic.answer_tokens;
    if (plan.budget <= 0) {
      throw Error(ErrorCode::limit_exceeded,
                  "the model's context of " + std::to_string(plan.context_tokens) +
                      " tokens leaves no room for images after the prompt (" +
                      std::to_string(plan.prompt_tokens) + ") and the answer (" +
                      std::to_string(plan.answer_tokens) + " tokens)");
    }
  }
  document.rasterize_all(options.threads, [&](size_t done, size_t total) {
    if (callbacks.on_progress) callbacks.on_progress({"render", done, total});
  });
  for (size_t p = 0; p < document.page_count(); ++p) {
    const auto input = whole_page_input(document, p);
    plan.parts.push_back(part_of(input, "page", {input.page_number}, options.visual_token_model));
    plan.all_pages_tokens += plan.parts.back().tokens;
  }
  plan.tokens = plan.all_pages_tokens;
  plan.fits = plan.all_pages_tokens <= plan.budget;
  if (!plan.fits) plan.parts.clear();
  return plan;
}

Answer read_over_budget(const RenderedDocument& document, const TaskRequest& request,
                        Reader& reader, const TaskOptions& options, const TaskCallbacks& callbacks,
                        ReadPlan plan, Answer answer) {
  if (options.selector != "retrieval" && options.selector != "model") {
    throw Error(ErrorCode::invalid_argument,
                "the selector must be retrieval or model, not \"" + options.selector + "\"");
  }
  const auto start = Clock::now();
  Answer out = request.task == TaskKind::question
                   ? ask_over_budget(document, request, reader, options, callbacks, std::move(plan),
                                     std::move(answer))
                   : map_reduce(document, request, reader, options, callbacks, std::move(plan),
                                std::move(answer));
  out.timings.read_seconds = seconds_since(start);
  return out;
}

}  // namespace glyph::detail

namespace glyph {

void to_json(nlohmann::json& out, const ReadPlan& plan) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& part : plan.parts) {
    nlohmann::json j = {
        {"kind", part.kind},         {"pages", part.pages},         {"dpi", part.dpi},
        {"width_px", part.width_px}, {"height_px", part.height_px}, {"tokens", part.tokens}};
    if (part.box)
      j["box_px"] = nlohmann::json::array(
          {part.box->left_px, part.box->top_px, part.box->right_px, part.box->bottom_px});
    parts.push_back(std::move(j));
  }
  nlohmann::json j = {{"budget", plan.budget},
                      {"budget_source", plan.budget_source},
                      {"context_tokens", plan.context_tokens},
                      {"prompt_tokens", plan.prompt_tokens},
                      {"answer_tokens", plan.answer_tokens},
                      {"all_pages_tokens", plan.all_pages_tokens},
                      {"fits", plan.fits},
                      {"strategy", plan.strategy},
                      {"tokens", plan.tokens},
                      {"requests", plan.requests},
                      {"parts", std::move(parts)}};
  if (!plan.selector.empty()) j["selector"] = plan.selector;
  if (!plan.global_layout.empty()) {
    j["global_layout"] = plan.global_layout;
    j["global_dpi"] = plan.global_dpi;
    j["global_tokens"] = plan.global_tokens;
    j["focus_pages"] = plan.focus_pages;
  }
  out = std::move(j);
}

}  // namespace glyph
