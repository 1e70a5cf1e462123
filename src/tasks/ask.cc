// run_task: prompts, the focused OCR strategy for questions, citations and token accounting.
#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/clock.h"
#include "core/error.h"
#include "core/utf8.h"
#include "image/image.h"
#include "layout/layout.h"
#include "tasks/detail.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph {
namespace {

using Clock = std::chrono::steady_clock;

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

ReadCallbacks reader_callbacks(const TaskCallbacks& callbacks, bool stream_content) {
  ReadCallbacks out;
  if (stream_content) {
    out.on_content = callbacks.on_content;
    out.on_reasoning = callbacks.on_reasoning;
    out.on_restart = callbacks.on_restart;
    out.on_replace = callbacks.on_replace;
  }
  out.is_cancelled = callbacks.is_cancelled;
  return out;
}

OcrCallbacks ocr_callbacks(const TaskCallbacks& callbacks) {
  OcrCallbacks out;
  out.is_cancelled = callbacks.is_cancelled;
  if (callbacks.on_progress) {
    out.on_progress = [&callbacks](const OcrProgress& progress) {
      callbacks.on_progress({"ocr", progress.done, progress.total});
    };
  }
  return out;
}

PageInput whole_page(const RenderedDocument& document, size_t page_index) {
  PageInput input;
  input.page_number = document.layout().pages[page_index].number;
  input.image = document.page_image(page_index);
  input.dpi = document.dpi();
  return input;
}

// OCR passages → citations: page and box from what was read; characters from the layout lines
// under that box, narrowed to the part the quote matches.
std::vector<Citation> cite_passages(const RenderedDocument& document,
                                    const std::vector<OcrPassage>& passages) {
  std::vector<Citation> citations;
  for (const auto& passage : passages) {
    Citation citation;
    citation.page = passage.page_number;
    citation.bbox_px = passage.box;
    citation.quote = passage.text;
    size_t page_index = 0;
    while (page_index < document.page_count() &&
           document.layout().pages[page_index].number != passage.page_number)
      ++page_index;
    if (page_index < document.page_count()) {
      if (auto range = detail::chars_in_box(document, page_index, passage.box)) {
        const auto aligned =
            detail::align_quote(document.text(), *range, decode_utf8(passage.text).text);
        citation.char_start = aligned.start;
        citation.char_end = aligned.end;
        citation.source_page = document.source_page(aligned.start, aligned.end);
      }
    }
    citations.push_back(std::move(citation));
  }
  return citations;
}

std::string describe_inputs(const std::vector<PageInput>& inputs) {
  std::set<int> pages;
  size_t crops = 0;
  for (const auto& input : inputs) {
    pages.insert(input.page_number);
    if (input.crop_of) ++crops;
  }
  std::string page_list;
  for (int page : pages) page_list += (page_list.empty() ? "" : ", ") + std::to_string(page);
  if (crops == inputs.size()) {
    return std::to_string(crops) + (crops == 1 ? " region" : " regions") + " on page" +
           (pages.size() == 1 ? " " : "s ") + page_list;
  }
  return std::to_string(inputs.size()) + (inputs.size() == 1 ? " page" : " pages") + " (" +
         page_list + ")";
}

struct OcrRun {
  OcrAnswer answer;
  double coverage = 0;
};

// The focused strategy for a question with the OCR reader. Rounds: the regions of the best
// windows, more windows, whole pages holding the best windows, then every page. A round's
// answer is accepted when it covers nearly as much of the question as the best place in the
// layout map does.
Answer ask_with_ocr(const RenderedDocument& document, const TaskRequest& request, OcrReader& reader,
                    const TaskOptions& options, const TaskCallbacks& callbacks, Answer answer) {
  ReadRequest read;
  read.task = TaskKind::question;
  read.question = request.question;
  read.prompt = build_prompt(request);

  const auto retrieval_start = Clock::now();
  const auto windows = detail::line_windows(document);
  std::vector<std::string> texts;
  texts.reserve(windows.size());
  for (const auto& w : windows) texts.push_back(w.text);
  const Bm25Index layout_index(texts);
  const auto hits = layout_index.search(request.question, 48);
  const double best_coverage = hits.empty() ? 0.0 : hits.front().coverage;
  answer.timings.retrieval_seconds = seconds_since(retrieval_start);

  OcrOptions crop_options = reader.options();
  if (crop_options.upscale == 0) crop_options.target_dpi = options.focus_target_dpi;
  crop_options.threads = options.threads;
  OcrReader crop_reader(crop_options);
  crop_reader.set_answer_passages(2);

  std::optional<OcrRun> best;
  std::set<int> pages_read_whole;
  auto run_round = [&](OcrReader& r, std::vector<PageInput> inputs, const std::string& label) {
    read.pages = std::move(inputs);
    OcrRun run;
    const auto start = Clock::now();
    run.answer = r.answer(read, reader_callbacks(callbacks, false), ocr_callbacks(callbacks));
    answer.timings.read_seconds += seconds_since(start);
    answer.images_read += static_cast<int>(read.pages.size());
    run.coverage = run.answer.passages.empty()
                       ? 0.0
                       : detail::question_coverage(layout_index, request.question,
                                                   run.answer.passages.front().text);
    char line[160];
    std::snprintf(line, sizeof line,
                  ": read %s in %.1f s, question coverage %.2f (best place in the layout: %.2f)",
                  describe_inputs(read.pages).c_str(), seconds_since(start), run.coverage,
                  best_coverage);
    answer.steps.push_back(label + line);
    if (!best || run.coverage > best->coverage) best = std::move(run);
  };
  auto accepted = [&] {
    return best && !best->answer.passages.empty() && best_coverage > 0 &&
           best->coverage >= options.focus_acceptance * best_coverage;
  };

  if (options.focus && !hits.empty()) {
    const size_t round_sizes[] = {2, 8, 24};
    size_t taken = 0;
    for (size_t round = 0; round < 3 && !accepted() && taken < hits.size(); ++round) {
      const size_t until = std::min(round_sizes[round], hits.size());
      std::vector<detail::LineWindow> chosen;
      for (size_t h = taken; h < until; ++h) chosen.push_back(windows[hits[h].document]);
      taken = until;
      run_round(crop_reader, detail::focus_crops(document, chosen),
                "focus round " + std::to_string(round + 1));
    }
    if (!accepted()) {
      // Whole pages around the best windows: a region may have been cut badly.
      std::vector<PageInput> inputs;
      for (size_t h = 0; h < std::min<size_t>(hits.size(), 8); ++h) {
        const size_t page_index = windows[hits[h].document].page_index;
        if (pages_read_whole.insert(static_cast<int>(page_index)).second)
          inputs.push_back(whole_page(document, page_index));
        if (inputs.size() >= 3) break;
      }
      run_round(reader, std::move(inputs), "pages of the best places");
    }
  }
  if (!accepted()) {
    // Every page together (those read already come from the cache), so that the passage ranking
    // sees the whole text.
    std::vector<PageInput> inputs;
    for (size_t p = 0; p < document.page_count(); ++p) inputs.push_back(whole_page(document, p));
    run_round(reader, std::move(inputs), "every page");
  }

  answer.model = reader.name() == "ocr"
                     ? "tesseract " + tesseract_version() + " (" + reader.options().language + ")"
                     : reader.name();
  if (best) {
    answer.text = best->answer.content;
    answer.citations = cite_passages(document, best->answer.passages);
  } else {
    answer.text =
        "Extractive answer (OCR reader): no passage of the recognized text matches the question.";
  }
  if (callbacks.on_content) callbacks.on_content(answer.text);
  return answer;
}

}  // namespace

namespace detail {

// Regions around line windows, merged when they overlap on a page: the lines of the window plus
// one above and below, full text width, a few pixels of margin.
std::vector<PageInput> focus_crops(const RenderedDocument& document,
                                   const std::vector<detail::LineWindow>& windows) {
  std::map<size_t, std::vector<std::pair<size_t, size_t>>> spans;  // page → [first, last] lines
  for (const auto& window : windows) {
    const size_t line_count = document.layout().pages[window.page_index].lines.size();
    const size_t first = window.first_line > 0 ? window.first_line - 1 : 0;
    const size_t last = std::min(window.last_line + 1, line_count - 1);
    spans[window.page_index].emplace_back(first, last);
  }
  std::vector<PageInput> crops;
  for (auto& [page_index, list] : spans) {
    std::sort(list.begin(), list.end());
    std::vector<std::pair<size_t, size_t>> merged;
    for (const auto& span : list) {
      if (!merged.empty() && span.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, span.second);
      } else {
        merged.push_back(span);
      }
    }
    const auto image = document.page_image(page_index);
    const auto boxes = document.line_boxes(page_index);
    const int margin_px = std::max(2, static_cast<int>(document.dpi() / 72.0 * 3));
    for (const auto& [first, last] : merged) {
      PixelBox box{image->width_px, image->height_px, 0, 0};
      for (size_t l = first; l <= last; ++l) {
        box.top_px = std::min(box.top_px, boxes[l].top_px);
        box.bottom_px = std::max(box.bottom_px, boxes[l].bottom_px);
      }
      // Full width: the region's first and last lines may start or end anywhere.
      box.left_px = 0;
      box.right_px = image->width_px;
      box.top_px = std::max(0, box.top_px - margin_px);
      box.bottom_px = std::min(image->height_px, box.bottom_px + margin_px);
      if (box.bottom_px <= box.top_px) continue;
      PageInput input;
      input.page_number = document.layout().pages[page_index].number;
      input.image = std::make_shared<const PageImage>(crop(
          *image, box.left_px, box.top_px, box.right_px - box.left_px, box.bottom_px - box.top_px));
      input.crop_of = box;
      input.dpi = document.dpi();
      crops.push_back(std::move(input));
    }
  }
  return crops;
}

// A model's JSON answer, without the ```json fence models like to add; empty if not JSON.
std::string json_of(std::string_view content) {
  std::string text(content);
  const size_t fence = text.find("```");
  if (fence != std::string::npos) {
    const size_t body = text.find('\n', fence);
    const size_t close = text.find("```", body == std::string::npos ? fence + 3 : body);
    if (body != std::string::npos && close != std::string::npos)
      text = text.substr(body + 1, close - body - 1);
  }
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return {};
  return parsed.dump(2);
}

PageInput whole_page_input(const RenderedDocument& document, size_t page_index) {
  return whole_page(document, page_index);
}

ReadCallbacks read_callbacks(const TaskCallbacks& callbacks, bool stream_content) {
  return reader_callbacks(callbacks, stream_content);
}

void take_result(Answer& answer, const ReadResult& result) {
  answer.text = result.content;
  answer.reasoning = result.reasoning;
  answer.model = result.model;
  answer.finish_reason = result.finish_reason;
  answer.repetition = result.repetition;
  answer.timings.first_token_seconds = result.first_token_seconds;
}

}  // namespace detail

TokenCounts count_document_tokens(const RenderedDocument& document, const TaskOptions& options) {
  TokenCounts counts;
  try {
    const Tokenizer& tokenizer = shared_tokenizer(options.tokenizer_path);
    counts.text_tokens = static_cast<int64_t>(tokenizer.count(encode_utf8(document.text())));
  } catch (const Error&) {
    // no tokenizer.json here: the count stays unset rather than guessed
  }
  int64_t visual = 0;
  for (size_t p = 0; p < document.page_count(); ++p) {
    const auto image = document.page_image(p);
    visual +=
        count_visual_tokens(options.visual_token_model, image->width_px, image->height_px).tokens;
  }
  counts.visual_tokens = visual;
  if (counts.text_tokens && visual > 0) {
    counts.ratio = static_cast<double>(*counts.text_tokens) / static_cast<double>(visual);
  }
  return counts;
}

std::string build_prompt(const TaskRequest& request) {
  switch (request.task) {
    case TaskKind::question:
      // The Glyph evaluation puts the question after the pages, as is. The one added line asks
      // for a verbatim quote so that the answer can be cited back to a page and a box.
      return request.question +
             "\n\nAfter your answer, quote the sentence of the text that supports it on its own "
             "line, starting with \"> \".";
    case TaskKind::summary:
      return "Summarize the text in the images in " + std::to_string(request.summary_sentences) +
             " sentences. Keep names, numbers and dates exactly as written.";
    case TaskKind::extraction: {
      std::string prompt =
          "Extract the key information from the text in the images as one JSON object with the "
          "arrays \"dates\", \"amounts\", \"quantities\", \"emails\", \"urls\", \"pairs\" (each "
          "{\"key\", \"value\"} for a \"Key: value\" in the text) and \"numbers\"";
      if (!request.fields.empty()) {
        prompt += ", and an object \"fields\" with a value (or null) for each of: " +
                  join(request.fields, ", ");
      }
      prompt += ". Copy every value exactly as written. Answer with the JSON object only.";
      return prompt;
    }
  }
  return request.question;
}

namespace {
Answer finish_answer(const RenderedDocument& document, const TaskOptions& options, Answer answer,
                     Clock::time_point start);
}  // namespace

Answer run_task(const RenderedDocument& document, const TaskRequest& request, Reader& reader,
                const TaskOptions& options, const TaskCallbacks& callbacks) {
  const auto start = Clock::now();
  if (request.task == TaskKind::question && request.question.empty()) {
    throw Error(ErrorCode::invalid_argument, "ask: the question is empty");
  }
  if (document.page_count() == 0)
    throw Error(ErrorCode::invalid_input, "the document has no text to read");
  Answer answer;
  answer.task = request.task;
  answer.reader = reader.name();
  answer.pages = static_cast<int>(document.page_count());

  auto* ocr = dynamic_cast<OcrReader*>(&reader);
  if (ocr && request.task == TaskKind::question) {
    answer = ask_with_ocr(document, request, *ocr, options, callbacks, std::move(answer));
  } else {
    // Every page, in order, then the prompt: unless the pages do not fit a VLM's context.
    std::optional<ReadPlan> plan;
    if (!ocr) plan = detail::budget_plan(document, request, reader, options, callbacks);
    if (plan && !plan->fits) {
      answer = detail::read_over_budget(document, request, reader, options, callbacks,
                                        std::move(*plan), std::move(answer));
      return finish_answer(document, options, std::move(answer), start);
    }
    answer.plan = std::move(plan);
    document.rasterize_all(options.threads, [&](size_t done, size_t total) {
      if (callbacks.on_progress) callbacks.on_progress({"render", done, total});
    });
    ReadRequest read;
    read.task = request.task;
    read.question = request.question;
    read.fields = request.fields;
    read.prompt = build_prompt(request);
    read.sampling = request.sampling;
    for (size_t p = 0; p < document.page_count(); ++p)
      read.pages.push_back(whole_page(document, p));
    answer.images_read = static_cast<int>(read.pages.size());
    const auto read_start = Clock::now();
    if (ocr) {
      ocr->set_summary_sentences(request.summary_sentences);
      OcrOptions page_options = ocr->options();
      if (options.threads > 0) page_options.threads = options.threads;
      OcrReader page_reader(page_options);
      page_reader.set_summary_sentences(request.summary_sentences);
      const OcrAnswer ocr_answer =
          page_reader.answer(read, reader_callbacks(callbacks, true), ocr_callbacks(callbacks));
      answer.text = ocr_answer.content;
      answer.extraction_json = ocr_answer.extraction_json;
      answer.citations = cite_passages(document, ocr_answer.passages);
      answer.model = "tesseract " + tesseract_version() + " (" + page_options.language + ")";
      answer.steps.push_back("read " + describe_inputs(read.pages));
    } else {
      const ReadResult result = reader.read(read, reader_callbacks(callbacks, true));
      detail::take_result(answer, result);
      answer.usage = result.usage;
      if (request.task == TaskKind::extraction)
        answer.extraction_json = detail::json_of(result.content);
      if (request.task == TaskKind::question || request.task == TaskKind::summary) {
        answer.citations = cite_answer(document, request.question, result.content);
      }
      answer.steps.push_back(
          "sent " + describe_inputs(read.pages) + " to " + result.model +
          (result.attempts > 1 ? " (" + std::to_string(result.attempts) + " attempts)" : ""));
    }
    answer.timings.read_seconds = seconds_since(read_start);
  }
  return finish_answer(document, options, std::move(answer), start);
}

namespace {
Answer finish_answer(const RenderedDocument& document, const TaskOptions& options, Answer answer,
                     Clock::time_point start) {
  const TokenCounts tokens = count_document_tokens(document, options);
  answer.text_tokens = tokens.text_tokens;
  answer.visual_tokens = tokens.visual_tokens;
  answer.ratio = tokens.ratio;
  answer.timings.render_seconds = document.render_seconds();
  answer.timings.total_seconds = seconds_since(start);
  if (answer.timings.first_token_seconds == 0)
    answer.timings.first_token_seconds = answer.timings.total_seconds;
  return answer;
}
}  // namespace

}  // namespace glyph
