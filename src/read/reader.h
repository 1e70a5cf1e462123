// Reader: what reads rendered pages back and answers a prompt about them.
//
// Two implementations: OcrReader (embedded Tesseract, extractive answers) and VlmReader (any
// OpenAI-compatible Chat Completions server). The tasks module builds the prompt and the page
// list, calls read(), and turns the result into an answer with citations.
//
// Contract of read():
// - Blocking; streams the answer through the callbacks while it arrives (on the calling thread).
// - Returns only a complete answer. A failure (server error, broken or stalled stream, timeout,
//   cancellation) throws glyph::Error and nothing partial is returned as if complete. Codes:
//   network (retryable: connection lost, stream broken), timeout, server (the server refused;
//   its own message is in the error), limit_exceeded (context or image limits), cancelled.
// - If a reader retries after some text already went out through on_content / on_reasoning, it
//   calls on_restart first so the caller can discard what it showed.
// - Answer text is streamed tentatively: when a model closes a reasoning part it never opened
//   (its chat template wrote the opening "<think>" into the prompt), what went out as answer text
//   was reasoning; the reader then calls on_replace with the whole answer and reasoning so far
//   (the answer usually empty), and streaming goes on from there. At most once per attempt.
// - A Reader object may be used from one thread at a time; make one per thread for parallel reads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

struct PageImage;  // src/image/image.h

// A rectangle in pixels of a full page image: [left, right) x [top, bottom), top-left origin.
struct PixelBox {
  int left_px = 0, top_px = 0, right_px = 0, bottom_px = 0;
};

// One image given to the reader: a whole page, or a crop of it (then crop_of says where it lies
// on the page as rendered at the page's dpi, so answers can be mapped back to page boxes).
struct PageInput {
  int page_number = 0;  // 1-based, as in the layout map
  std::shared_ptr<const PageImage> image;
  std::optional<PixelBox> crop_of;
  double dpi = 0;  // the dpi the image was rendered at, 0 when unknown
};

enum class TaskKind { question, summary, extraction };

// Sampling settings. Each is sent to a server only when set; unset means the server's default.
struct SamplingOptions {
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int> top_k;
  std::optional<double> repetition_penalty;
  std::optional<int> max_tokens;
  std::vector<int> stop_token_ids;  // sent when non-empty
  std::optional<bool> skip_special_tokens;
};

struct ReadRequest {
  TaskKind task = TaskKind::question;
  std::string question;             // the user's question (task == question)
  std::vector<std::string> fields;  // fields asked for (task == extraction)
  std::vector<PageInput> pages;     // in the order they are shown to the model
  std::string prompt;               // the text part after the images, built by tasks
  std::string system_prompt;        // sent as a system message when non-empty
  SamplingOptions sampling;
  // This project's own count of the prompt (text tokens + visual tokens), -1 when not computed;
  // quoted in errors such as a server refusing an over-long context.
  int estimated_prompt_tokens = -1;
};

struct ReadUsage {
  int prompt_tokens = -1;  // as the server counted them, image tokens included; -1 = not reported
  int completion_tokens = -1;
};

// An image as it was actually sent (after downscaling to the reader's pixel cap).
struct SentImage {
  int page_number = 0;
  int width_px = 0, height_px = 0;
  bool downscaled = false;
};

// A repetition loop a reader found in a streamed answer: the request was stopped and retried
// once with a repetition penalty (VlmReader).
struct RepetitionLoop {
  bool detected = false;
  std::string where;        // "content" or "reasoning"
  int period_bytes = 0;     // length of the repeating unit
  int repeats = 0;          // how often it had repeated when the request was stopped
  std::string unit;         // the repeating text (at most 120 bytes, whole UTF-8 characters)
  std::string retry_field;  // the penalty the retry sent: "repetition_penalty" (vLLM, SGLang),
                            // "repeat_penalty" (llama.cpp) or "frequency_penalty" (OpenAI, Ollama)
  double retry_value = 0;
  bool retry_looped = false;  // the retry looped too: its answer ends where the loop was found
};
// The loop as the API and `--json` report it: {"where", "period_bytes", "repeats", "unit",
// "retry_field", "retry_value", "retry_looped"}.
void to_json(nlohmann::json& out, const RepetitionLoop& loop);

struct ReadResult {
  std::string content;        // the answer, reasoning removed
  std::string reasoning;      // the model's reasoning, if it gave any
  std::string finish_reason;  // "stop", "length", ... ("stop" for readers without one)
  std::string model;          // the model that answered (the reader's name for OcrReader)
  ReadUsage usage;
  std::vector<SentImage> images;   // one per PageInput, in order
  double first_token_seconds = 0;  // from the start of the successful attempt to its first token
  double total_seconds = 0;        // from the call of read() to the end, retries included
  int attempts = 1;
  RepetitionLoop repetition;  // finish_reason is "repetition" when the retry looped too
};

struct ReadCallbacks {
  std::function<void(std::string_view)> on_content;    // answer text as it arrives
  std::function<void(std::string_view)> on_reasoning;  // reasoning text as it arrives
  std::function<void()> on_restart;  // a retry starts over: discard what was shown so far
  // Replace what was shown so far by this answer and reasoning (the whole text of each), then
  // go on appending what on_content / on_reasoning bring.
  std::function<void(std::string_view content, std::string_view reasoning)> on_replace;
  std::function<bool()> is_cancelled;  // polled often; true aborts the read (Error cancelled)
};

class Reader {
 public:
  virtual ~Reader() = default;
  // A short name for logs and --json output: "ocr", "openai:<model>".
  virtual std::string name() const = 0;
  virtual ReadResult read(const ReadRequest& request, const ReadCallbacks& callbacks) = 0;
  // The model's context window in tokens (prompt and answer), when the reader knows it; the
  // tasks module sizes its budget of visual tokens from it.
  virtual std::optional<int64_t> context_tokens() { return std::nullopt; }
};

}  // namespace glyph
