// run_eval: items x modes through the readers, results appended per item, resume, summaries.
//
// Crash safety: each result is one line written by one write(2) call on a file opened with
// O_APPEND, under a mutex, after the item is complete; a process killed at any moment leaves
// whole lines and at most one torn last line. On resume the torn line is cut off (its item is
// done again) and every key with an error-free line is skipped, so no finished item is lost or
// repeated. Lines are in the page cache once write() returns, which a killed process cannot undo;
// there is no fsync per item (a power cut may lose the last items, which resume then redoes).

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unordered_set>

#include "core/clock.h"
#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "eval/eval.h"
#include "image/image.h"
#include "read/ocr_reader.h"
#include "tasks/tasks.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph::eval {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string mode_name(double dpi) {
  char text[32];
  std::snprintf(text, sizeof text, "%gdpi", dpi);
  return text;
}

// "0-8k", "8k-16k", ... by powers of two from 8K tokens (the MRCR bins of the Glyph release).
std::string token_bin(int64_t tokens) {
  int64_t low = 0, high = 8192;
  while (tokens >= high) {
    low = high;
    high *= 2;
  }
  auto k = [](int64_t t) { return t == 0 ? std::string("0") : std::to_string(t / 1024) + "k"; };
  return k(low) + "-" + k(high);
}

json result_json(const ItemResult& r) {
  json j = {{"key", r.key},
            {"id", r.id},
            {"suite", r.suite},
            {"task", r.task},
            {"length_bin", r.length_bin},
            {"mode", r.mode},
            {"dpi", r.dpi},
            {"uuid_task", r.uuid_task},
            {"text_tokens", r.text_tokens},
            {"visual_tokens", r.visual_tokens},
            {"compression", r.compression},
            {"pages", r.pages},
            {"render_seconds", r.render_seconds},
            {"reader_seconds", r.reader_seconds},
            {"total_seconds", r.total_seconds},
            {"answer", r.answer},
            {"score", r.score}};
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

ItemResult result_from_json(const json& j) {
  ItemResult r;
  r.key = j.value("key", "");
  r.id = j.value("id", "");
  r.suite = j.value("suite", "");
  r.task = j.value("task", "");
  r.length_bin = j.value("length_bin", "");
  r.mode = j.value("mode", "");
  r.dpi = j.value("dpi", 0.0);
  r.uuid_task = j.value("uuid_task", false);
  r.text_tokens = j.value("text_tokens", int64_t{0});
  r.visual_tokens = j.value("visual_tokens", int64_t{0});
  r.compression = j.value("compression", 0.0);
  r.pages = j.value("pages", 0);
  r.render_seconds = j.value("render_seconds", 0.0);
  r.reader_seconds = j.value("reader_seconds", 0.0);
  r.total_seconds = j.value("total_seconds", 0.0);
  r.answer = j.value("answer", "");
  r.score = j.value("score", 0.0);
  r.error = j.value("error", "");
  return r;
}

// Cuts a torn last line (no final newline) off the file.
void repair_tail(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error || size == 0) return;
  std::ifstream in(path, std::ios::binary);
  // Find the last newline by reading backwards in blocks.
  std::uintmax_t end = size;
  std::string block;
  while (end > 0) {
    const std::uintmax_t start = end > 4096 ? end - 4096 : 0;
    block.resize(static_cast<size_t>(end - start));
    in.seekg(static_cast<std::streamoff>(start));
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const size_t newline = block.rfind('\n');
    if (newline != std::string::npos) {
      const std::uintmax_t keep = start + newline + 1;
      if (keep != size) std::filesystem::resize_file(path, keep);
      return;
    }
    end = start;
  }
  std::filesystem::resize_file(path, 0);
}

struct Work {
  const EvalItem* item;
  size_t item_index;
  double dpi;  // 0 = text baseline
  std::string key;
};

struct Worker {
  std::unique_ptr<Reader> reader;
  std::unique_ptr<Reader> text_reader;
};

SamplingOptions sampling_for(const EvalItem& item, const RunOptions& options) {
  SamplingOptions sampling = options.sampling;
  if (!sampling.max_tokens && item.max_answer_tokens > 0)
    sampling.max_tokens = item.max_answer_tokens;
  return sampling;
}

// The config drawing newlines as the Glyph release's marker: " \n " in red, in the running text.
RenderConfig with_newline_marker(const RenderConfig& config) {
  json j = json::parse(config_to_json(config));
  j["newline-markup"] = "<font color=\"#FF0000\"> \\n </font>";
  return parse_config_json(j.dump(), "", nullptr, "eval newline marker");
}

// An item made ready for its reader: the work that does not wait on the reader (layout,
// rasterizing the pages a server reader needs, token counts). Prepared one item ahead of the
// reader, on another thread, so that at concurrency 1 the harness's work overlaps the reader's
// wait instead of adding to it.
struct Prepared {
  ItemResult result;
  std::unique_ptr<RenderedDocument> document;
  double seconds = 0;  // spent preparing
};

// The text tokens of each item's context, counted once for all its modes (-1: not yet).
class TextTokenCache {
 public:
  explicit TextTokenCache(size_t items) : counts_(items) {
    for (auto& count : counts_) count.store(-1);
  }
  std::atomic<int64_t>& operator[](size_t item) { return counts_[item]; }

 private:
  std::vector<std::atomic<int64_t>> counts_;
};

Prepared prepare_one(const Work& work, size_t item_index, bool rasterize, const RunOptions& options,
                     TextTokenCache& text_tokens) {
  const auto start = Clock::now();
  const EvalItem& item = *work.item;
  Prepared prepared;
  ItemResult& r = prepared.result;
  r.key = work.key;
  r.id = item.id;
  r.suite = item.suite;
  r.task = item.task;
  r.length_bin = item.length_bin;
  r.uuid_task = item.uuid_task;
  r.dpi = work.dpi;
  r.mode = work.dpi > 0 ? mode_name(work.dpi) : "text";
  if (work.dpi == 0) {
    r.compression = 1;
    prepared.seconds = seconds_since(start);
    return prepared;
  }
  try {
    RenderConfig config = options.config
                              ? *options.config
                              : preset_config(script_preset_name(decode_utf8(item.context).text));
    config.dpi = work.dpi;
    if (options.newline_marker == RunOptions::NewlineMarker::all ||
        (options.newline_marker == RunOptions::NewlineMarker::suggested &&
         item.newline_marker_suggested)) {
      config = with_newline_marker(config);
    }
    prepared.document = std::make_unique<RenderedDocument>(item.context, config);
    const RenderedDocument& document = *prepared.document;
    r.pages = static_cast<int>(document.page_count());
    if (rasterize) {
      document.rasterize_all(options.ocr_threads);
      r.render_seconds = document.render_seconds();
      // The rendered text is the same at every dpi (only the dpi changes between modes).
      int64_t text = text_tokens[item_index].load();
      if (text < 0) {
        text = static_cast<int64_t>(
            shared_tokenizer(options.tokenizer_path).count(encode_utf8(document.text())));
        text_tokens[item_index].store(text);
      }
      r.text_tokens = text;
      for (size_t p = 0; p < document.page_count(); ++p) {
        const auto image = document.page_image(p);
        r.visual_tokens +=
            count_visual_tokens(options.visual_token_model, image->width_px, image->height_px)
                .tokens;
      }
    }
  } catch (const Error& e) {
    r.error = e.what();
    prepared.document.reset();
  } catch (const std::exception& e) {
    r.error = std::string("internal: ") + e.what();
    prepared.document.reset();
  }
  prepared.seconds = seconds_since(start);
  return prepared;
}

ItemResult finish_one(Prepared& prepared, const Work& work, Reader* reader, Reader* text_reader,
                      const RunOptions& options, const std::function<bool()>& is_cancelled) {
  const auto start = Clock::now();
  const EvalItem& item = *work.item;
  ItemResult r = std::move(prepared.result);  // the document stays with the caller
  TaskOptions task_options;
  task_options.threads = options.ocr_threads;
  task_options.visual_token_model = options.visual_token_model;
  task_options.tokenizer_path = options.tokenizer_path;
  try {
    if (!r.error.empty()) {
      // preparing failed: recorded as the item's error
    } else if (work.dpi == 0) {
      r.text_tokens =
          static_cast<int64_t>(shared_tokenizer(options.tokenizer_path).count(item.context));
      ReadRequest request;
      request.task = TaskKind::question;
      request.question = item.question;
      request.prompt = item.text_prompt;
      request.sampling = sampling_for(item, options);
      ReadCallbacks callbacks;
      callbacks.is_cancelled = is_cancelled;
      const auto read_start = Clock::now();
      const ReadResult result = text_reader->read(request, callbacks);
      r.reader_seconds = seconds_since(read_start);
      r.answer = result.content;
    } else {
      const RenderedDocument& document = *prepared.document;
      if (auto* ocr = dynamic_cast<OcrReader*>(reader)) {
        TaskRequest request;
        request.task = TaskKind::question;
        request.question = item.question;
        TaskCallbacks callbacks;
        callbacks.is_cancelled = is_cancelled;
        const Answer answer = run_task(document, request, *ocr, task_options, callbacks);
        r.answer = answer.text;
        r.render_seconds = answer.timings.render_seconds;
        r.reader_seconds = answer.timings.read_seconds + answer.timings.retrieval_seconds;
        r.text_tokens = answer.text_tokens.value_or(0);
        r.visual_tokens = answer.visual_tokens.value_or(0);
      } else {
        ReadRequest request;
        request.task = TaskKind::question;
        request.question = item.question;
        request.prompt = item.prompt;
        request.sampling = sampling_for(item, options);
        for (size_t p = 0; p < document.page_count(); ++p) {
          PageInput page;
          page.page_number = static_cast<int>(p + 1);
          page.image = document.page_image(p);
          page.dpi = document.dpi();
          request.pages.push_back(std::move(page));
        }
        request.estimated_prompt_tokens = static_cast<int>(r.visual_tokens);
        ReadCallbacks callbacks;
        callbacks.is_cancelled = is_cancelled;
        const auto read_start = Clock::now();
        const ReadResult result = reader->read(request, callbacks);
        r.reader_seconds = seconds_since(read_start);
        r.answer = result.content;
      }
      if (r.visual_tokens > 0)
        r.compression = static_cast<double>(r.text_tokens) / static_cast<double>(r.visual_tokens);
    }
    if (r.error.empty()) r.score = score_answer(item, r.answer);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::cancelled && is_cancelled && is_cancelled()) throw;
    r.error = e.what();
    r.score = 0;
  } catch (const std::exception& e) {
    r.error = std::string("internal: ") + e.what();
    r.score = 0;
  }
  if (r.length_bin.empty()) r.length_bin = token_bin(r.text_tokens);
  r.total_seconds = prepared.seconds + seconds_since(start);
  return r;
}

}  // namespace

ItemResult evaluate_item(const EvalItem& item, const RenderConfig& config, Reader& reader,
                         const RunOptions& options, const std::function<bool()>& is_cancelled) {
  RunOptions with_config = options;
  with_config.config = config;
  const Work work{&item, 0, config.dpi, item.id + "@" + mode_name(config.dpi)};
  TextTokenCache text_tokens(1);
  Prepared prepared =
      prepare_one(work, 0, !dynamic_cast<OcrReader*>(&reader), with_config, text_tokens);
  return finish_one(prepared, work, &reader, nullptr, with_config, is_cancelled);
}

std::vector<ItemResult> read_results(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::vector<ItemResult> results;
  std::map<std::string, size_t> index;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("key")) continue;  // a torn line
    ItemResult r = result_from_json(j);
    auto [it, inserted] = index.emplace(r.key, results.size());
    if (inserted)
      results.push_back(std::move(r));
    else
      results[it->second] = std::move(r);
  }
  return results;
}

RunReport run_eval(const std::vector<EvalItem>& items, const ReaderFactory& reader,
                   const ReaderFactory& text_reader, const RunOptions& options,
                   const RunCallbacks& callbacks) {
  const auto start = Clock::now();
  if (options.out_dir.empty())
    throw Error(ErrorCode::invalid_argument, "eval: no output folder given (--out DIR)");
  if (!reader && !text_reader)
    throw Error(ErrorCode::invalid_argument, "eval: no reader to evaluate");
  for (double dpi : options.dpis) {
    if (!(dpi >= 12 && dpi <= 600))
      throw Error(ErrorCode::invalid_argument,
                  "eval: dpi " + std::to_string(dpi) + " is outside 12..600");
  }
  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  if (error)
    throw Error(ErrorCode::io, "eval: cannot create " + options.out_dir + ": " + error.message());

  RunReport report;
  report.results_path = options.out_dir + "/results.jsonl";
  std::set<std::string> done;
  if (std::filesystem::exists(report.results_path)) {
    if (!options.resume) {
      throw Error(ErrorCode::invalid_argument,
                  "eval: " + report.results_path +
                      " exists; add --resume to continue that run, or choose another --out");
    }
    repair_tail(report.results_path);
    for (const auto& r : read_results(report.results_path))
      if (r.error.empty()) done.insert(r.key);
  }

  std::vector<Work> work;
  std::unordered_set<std::string> keys;
  for (size_t item_index = 0; item_index < items.size(); ++item_index) {
    const EvalItem& item = items[item_index];
    if (!keys.insert(item.id).second)
      throw Error(ErrorCode::invalid_input, "eval: two items have the id \"" + item.id + "\"");
    if (reader) {
      for (double dpi : options.dpis) {
        std::string key = item.id + "@" + mode_name(dpi);
        if (done.count(key)) {
          ++report.skipped;
          continue;
        }
        work.push_back({&item, item_index, dpi, std::move(key)});
      }
    }
    if (text_reader) {
      std::string key = item.id + "@text";
      if (done.count(key)) {
        ++report.skipped;
        continue;
      }
      work.push_back({&item, item_index, 0, std::move(key)});
    }
  }

  AppendFile file(report.results_path, "eval");
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex progress_mutex;
  TextTokenCache text_tokens(items.size());
  RunProgress progress;
  progress.total = work.size();
  progress.skipped = report.skipped;
  double score_sum = 0, reader_seconds_sum = 0;
  size_t scored = 0;
  std::exception_ptr failure;
  auto is_cancelled = [&] {
    return stop.load() || (callbacks.is_cancelled && callbacks.is_cancelled());
  };
  auto run_worker = [&] {
    Worker worker;
    try {
      if (reader) worker.reader = reader();
      if (text_reader) worker.text_reader = text_reader();
    } catch (...) {
      std::lock_guard lock(progress_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
      return;
    }
    // Each worker prepares its next item while its reader reads the current one.
    const bool rasterize = worker.reader && !dynamic_cast<OcrReader*>(worker.reader.get());
    // The document read last is freed on that thread too (its pages are large allocations).
    std::unique_ptr<RenderedDocument> retired;
    auto prepare_async = [&](size_t index) {
      return std::async(std::launch::async, [&, index, old = std::move(retired)]() mutable {
        old.reset();
        return prepare_one(work[index], work[index].item_index, rasterize, options, text_tokens);
      });
    };
    size_t index = next.fetch_add(1);
    std::future<Prepared> ahead;
    if (index < work.size() && !is_cancelled()) ahead = prepare_async(index);
    while (ahead.valid() && !is_cancelled()) {
      Prepared current = ahead.get();
      const size_t following = next.fetch_add(1);
      if (following < work.size()) ahead = prepare_async(following);
      ItemResult result;
      try {
        result = finish_one(current, work[index], worker.reader.get(), worker.text_reader.get(),
                            options, is_cancelled);
        retired = std::move(current.document);
        json line = result_json(result);
        file.append(line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
      } catch (const Error& e) {
        if (e.code() == ErrorCode::cancelled) break;  // the item is not written: resume redoes it
        std::lock_guard lock(progress_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
        break;
      }
      index = following;
      std::lock_guard lock(progress_mutex);
      ++progress.done;
      if (!result.error.empty()) {
        if (report.first_error.empty()) report.first_error = result.key + ": " + result.error;
        ++progress.errors;
      } else {
        score_sum += result.score;
        ++scored;
      }
      reader_seconds_sum += result.reader_seconds;
      progress.elapsed_seconds = seconds_since(start);
      progress.eta_seconds = progress.elapsed_seconds / static_cast<double>(progress.done) *
                             static_cast<double>(progress.total - progress.done);
      progress.mean_score = scored ? score_sum / static_cast<double>(scored) : 0;
      if (callbacks.on_result) callbacks.on_result(result);
      if (callbacks.on_progress) callbacks.on_progress(progress);
    }
  };
  const int threads =
      std::max(1, std::min<int>(options.concurrency, static_cast<int>(work.size())));
  const auto loop_start = Clock::now();
  if (!work.empty()) {
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(run_worker);
    run_worker();
    for (auto& thread : pool) thread.join();
  }
  if (failure) std::rethrow_exception(failure);
  report.loop_seconds = seconds_since(loop_start);
  report.reader_seconds = reader_seconds_sum;

  report.done = progress.done;
  report.errors = progress.errors;
  report.cancelled = progress.done < work.size();
  const Summary summary = summarize(read_results(report.results_path));
  report.summary_markdown = summary_markdown(summary);
  report.summary_markdown_path = options.out_dir + "/summary.md";
  report.summary_json_path = options.out_dir + "/summary.json";
  report.plot_path = options.out_dir + "/plot.png";
  write_file(report.summary_markdown_path, report.summary_markdown);
  write_file(report.summary_json_path, summary_json(summary));
  std::string title = "accuracy vs compression";
  if (!items.empty()) title = items.front().suite + ": " + title;
  write_file(report.plot_path, plot_png(summary, title));
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace glyph::eval
