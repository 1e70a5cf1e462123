// Reading a rendered document with the configured reader, through the tasks module (the same
// ask / summarize / extract and citations as the CLI), and turning its answer into the
// service's answer.
#include "serve/answer.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/utf8.h"
#include "read/endpoint_pool.h"
#include "read/ocr_reader.h"
#include "read/vlm_reader.h"
#include "tasks/tasks.h"

namespace glyph::serve {
namespace {
using nlohmann::json;

// The JSON object inside a model's answer (fenced or bare), or nothing.
std::vector<std::pair<std::string, std::string>> fields_from_text(
    const std::string& text, const std::vector<std::string>& wanted) {
  std::vector<std::pair<std::string, std::string>> out;
  auto open = text.find('{');
  auto close = text.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  json j = json::parse(text.substr(open, close - open + 1), nullptr, false);
  if (!j.is_object()) return out;
  if (j.contains("fields") && j["fields"].is_object()) j = j["fields"];
  for (const auto& f : wanted) {
    std::string value;
    if (j.contains(f)) {
      const auto& v = j[f];
      if (v.is_string())
        value = v.get<std::string>();
      else if (v.is_object() && v.contains("value") && v["value"].is_string())
        value = v["value"].get<std::string>();
      else if (!v.is_null())
        value = v.dump();
    }
    out.emplace_back(f, value);
  }
  return out;
}

bool has_cjk(std::string_view utf8) {
  for (char32_t c : decode_utf8(utf8).text)
    if (c >= 0x4E00 && c <= 0x9FFF) return true;
  return false;
}

}  // namespace

AskMode parse_ask_mode(std::string_view name) {
  if (name == "qa") return AskMode::qa;
  if (name == "summary") return AskMode::summary;
  if (name == "extract") return AskMode::extract;
  throw Error(ErrorCode::invalid_argument,
              "\"mode\" must be qa, summary or extract, not \"" + std::string(name) + "\"");
}

std::string_view to_string(AskMode mode) {
  switch (mode) {
    case AskMode::qa: return "qa";
    case AskMode::summary: return "summary";
    case AskMode::extract: return "extract";
  }
  return "qa";
}

AskResult run_ask(const RenderedDocument& document, DocumentStore&, AskMode mode,
                  const std::string& question, const std::vector<std::string>& fields,
                  const ReaderSettings& settings, const AskCallbacks& callbacks,
                  const AskBudget& budget) {
  auto start = std::chrono::steady_clock::now();
  TaskRequest request;
  request.task = mode == AskMode::qa        ? TaskKind::question
                 : mode == AskMode::summary ? TaskKind::summary
                                            : TaskKind::extraction;
  request.question = question;
  request.fields = fields;
  TaskCallbacks task_callbacks;
  task_callbacks.on_content = callbacks.on_content;
  task_callbacks.on_reasoning = callbacks.on_reasoning;
  task_callbacks.on_restart = callbacks.on_restart;
  task_callbacks.on_replace = callbacks.on_replace;
  task_callbacks.is_cancelled = callbacks.is_cancelled;
  if (callbacks.on_progress)
    task_callbacks.on_progress = [&](const TaskProgress& p) {
      if (p.total)
        callbacks.on_progress(p.stage == "render" ? "rasterizing" : "reading", p.done, p.total);
    };
  TaskOptions options;
  options.threads = 1;  // the service runs requests and jobs in parallel already
  options.budget = budget.budget;
  options.selector = budget.selector;

  // The same text and config give the same layout and pixels as the pages served.
  glyph::RenderedDocument rendered(document.text, document.config);
  bool use_vlm = settings.backend == "openai" || settings.backend == "vlm" ||
                 (settings.backend.empty() && !settings.url.empty());
  auto vlm_reader = [&](const std::string& url) {
    VlmReaderOptions vlm;
    vlm.base_url = url;
    vlm.api = parse_api_protocol(settings.api);
    vlm.model = settings.model;
    vlm.api_key = settings.api_key;
    if (settings.timeout_ms > 0) vlm.total_timeout_ms = settings.timeout_ms;
    // With other servers to fail over to, one retry here, then the next server.
    if (settings.endpoints && settings.endpoints->size() > 1) vlm.max_retries = 1;
    return std::make_unique<VlmReader>(vlm);
  };
  Answer a;
  if (use_vlm && settings.endpoints) {
    // Several servers: the least busy one; on a network error or a timeout, the next one.
    std::set<std::string> tried;
    for (std::size_t attempt = 1;; ++attempt) {
      auto lease = settings.endpoints->acquire(tried, callbacks.is_cancelled);
      auto reader = vlm_reader(lease.url());
      try {
        a = run_task(rendered, request, *reader, options, task_callbacks);
        lease.succeeded();
        break;
      } catch (const Error& e) {
        bool may_pass = e.code() == ErrorCode::network || e.code() == ErrorCode::timeout;
        if (!may_pass || attempt >= 2 * settings.endpoints->size() ||
            (callbacks.is_cancelled && callbacks.is_cancelled()))
          throw;
        lease.failed(e.what());
        tried.insert(lease.url());
        if (tried.size() >= settings.endpoints->size()) tried.clear();
        if (callbacks.on_restart) callbacks.on_restart();
      }
    }
  } else {
    std::unique_ptr<Reader> reader;
    if (use_vlm) {
      reader = vlm_reader(settings.url);
    } else {
      OcrOptions ocr;
      ocr.language = has_cjk(document.text) ? "chi_sim+eng" : "eng";
      ocr.threads = 1;
      if (!settings.cache_dir.empty()) ocr.cache_dir = settings.cache_dir;
      reader = std::make_unique<OcrReader>(ocr);
    }
    a = run_task(rendered, request, *reader, options, task_callbacks);
  }

  AskResult out;
  out.answer = a.text;
  out.reasoning = a.reasoning;
  out.model = a.model.empty() ? a.reader : a.model;
  out.finish_reason = a.finish_reason.empty() ? "stop" : a.finish_reason;
  out.repetition = a.repetition;
  out.plan = a.plan;
  out.prompt_tokens = a.usage.prompt_tokens;
  out.completion_tokens = a.usage.completion_tokens;
  for (const auto& c : a.citations)
    out.citations.push_back({c.page, double(c.bbox_px.left_px), double(c.bbox_px.top_px),
                             double(c.bbox_px.right_px), double(c.bbox_px.bottom_px), c.char_start,
                             c.char_end, c.quote});
  if (mode == AskMode::extract)
    out.fields = fields_from_text(a.extraction_json.empty() ? a.text : a.extraction_json, fields);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace glyph::serve
