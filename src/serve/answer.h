// The service's bridge to the tasks module: ask / summarize / extract over a rendered document,
// streaming the answer, returning citations in pixels of the page images the service serves.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "read/reader.h"
#include "serve/documents.h"
#include "serve/serve.h"
#include "tasks/tasks.h"

namespace glyph::serve {

enum class AskMode { qa, summary, extract };
AskMode parse_ask_mode(std::string_view name);  // "qa" | "summary" | "extract"; throws
std::string_view to_string(AskMode mode);

struct AskCitation {
  int page = 0;                                       // 1-based
  double x0_px = 0, y0_px = 0, x1_px = 0, y1_px = 0;  // in pixels of the page image served
  std::size_t char_start = 0, char_end = 0;           // code points of the rendered text
  std::string quote;
};

struct AskResult {
  std::string answer;
  std::string reasoning;
  std::vector<std::pair<std::string, std::string>> fields;  // extract: field → value
  std::vector<AskCitation> citations;
  std::string model;
  std::string finish_reason;
  RepetitionLoop repetition;  // a loop the reader stopped and retried (src/read/reader.h)
  int prompt_tokens = -1, completion_tokens = -1;
  double seconds = 0;
  std::optional<ReadPlan> plan;  // VLM readers: how the read fitted the budget (tasks.h)
};

// The request's "budget" (visual tokens; unset: the model's context minus prompt and answer)
// and "selector" ("retrieval" or "model") for documents over it.
struct AskBudget {
  std::optional<int64_t> budget;
  std::string selector = "retrieval";
};

struct AskCallbacks {
  std::function<void(std::string_view)> on_content;
  std::function<void(std::string_view)> on_reasoning;
  std::function<void()> on_restart;
  // What was streamed so far is replaced by this whole answer and reasoning (ReadCallbacks).
  std::function<void(std::string_view content, std::string_view reasoning)> on_replace;
  std::function<bool()> is_cancelled;
  // A stage of the reading ("rasterizing" the page images, "reading" them) and how far it is.
  // A stage may run more than once (the OCR reader reads the likely regions, then pages).
  std::function<void(std::string_view stage, std::size_t done, std::size_t total)> on_progress;
};

AskResult run_ask(const RenderedDocument& document, DocumentStore& store, AskMode mode,
                  const std::string& question, const std::vector<std::string>& fields,
                  const ReaderSettings& reader, const AskCallbacks& callbacks,
                  const AskBudget& budget = {});

}  // namespace glyph::serve
