// The flags shared by the commands that read pages back (ask, summarize, extract, verify): which
// reader (--backend, --url, --model, --api-key), which rendering (-c, --dpi), how to print
// (--json), and the terminal side: streamed answers, a progress bar on stderr, Ctrl-C.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "input.h"
#include "read/ocr_reader.h"
#include "read/reader.h"
#include "tasks/tasks.h"

namespace glyph::cli {

struct ReaderFlags {
  std::string input;
  InputFlags input_flags;
  std::string backend;  // "", "ocr", "openai"
  std::string url;
  std::string model;
  std::string api_key;
  std::string server_kind;
  std::string api = "openai";  // the VLM protocol: openai or anthropic
  int thinking_budget = 0;     // anthropic: extended thinking budget in tokens (0: off)
  std::string config_path;
  double dpi = 0;
  bool json = false;
  int threads = 0;
  std::string ocr_language;  // empty: eng, or chi_sim+eng for CJK text
  double ocr_upscale = 0;    // 0: the reader's default
  bool no_cache = false;
  bool no_focus = false;
  std::string visual_token_model = "glm-4.1v";
  std::optional<double> temperature;
  std::optional<int> max_tokens;
  // Budget of visual tokens per request (VLM readers); unset: the model's context minus the
  // prompt and the answer.
  std::optional<int64_t> budget;
  std::string selector = "retrieval";
  std::string global_layout = "auto";
  int concurrency = 1;
  bool verbose = false;
};

// Adds INPUT and the flags above (reader flags only when with_backend).
void add_reader_flags(CLI::App* command, ReaderFlags& flags, bool with_backend);

// Reads the input and renders it with the chosen config and dpi.
std::unique_ptr<RenderedDocument> load_document(const ReaderFlags& flags);
// OCR options from the flags and the document's text.
OcrOptions ocr_options(const ReaderFlags& flags, const RenderedDocument& document);
// The reader the flags ask for: openai when --backend openai, or when no backend is named and
// --url or GLYPH_VLM_URL is set; else the OCR reader.
std::unique_ptr<Reader> make_reader(const ReaderFlags& flags, const RenderedDocument& document);
TaskOptions task_options(const ReaderFlags& flags);

// Streams content to stdout (reasoning dimmed on stderr when it is a terminal), shows progress on
// stderr when it is a terminal, and turns Ctrl-C into a cancellation.
TaskCallbacks terminal_callbacks(const ReaderFlags& flags);
// Clears the progress bar line if one is shown.
void clear_progress();

// After a streamed answer: citations and a summary line (or, with --json, the whole answer).
void print_answer(const Answer& answer, const ReaderFlags& flags);

// Runs one task end to end for ask / summarize / extract.
void run_reader_task(const ReaderFlags& flags, TaskRequest request);

}  // namespace glyph::cli
