// A fake OpenAI-compatible VLM server for tests: real HTTP/1.1 over a socket on 127.0.0.1, one
// thread per connection, with byte-level control of what it sends.
//
// It speaks the Chat Completions protocol the way vLLM, SGLang, llama.cpp's server, Ollama and
// OpenAI do (FakeServerMode picks the differences: reasoning field, error body shape, model owner,
// health route, when usage is sent), and the Anthropic Messages API at POST /v1/messages (in any
// mode); it can misbehave on demand (FakeFault, one per chat
// request, in order): HTTP errors with Retry-After, resets before or during the stream, stalls,
// error events mid-stream, a stream without [DONE], a data line that is not JSON, a server that
// never answers. Every request is recorded, with its images decoded from their data URLs as PNG,
// so tests can assert what a client sent.
//
// The answer is the scripted FakeAnswer, or with `ocr` what Tesseract reads off the images sent
// (fake_ocr_answer.h). No model runs here: it exists because no VLM weights
// can be downloaded where the tests run. tests/tools/fake_vlm_server_main.cc wraps it as a
// standalone program for end-to-end tests of the CLI and the web page.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace glyph {
struct VlmReaderOptions;
}

namespace glyph::test {

enum class FakeServerMode { vllm, sglang, llamacpp, ollama, openai };
FakeServerMode parse_fake_server_mode(const std::string& name);  // throws std::invalid_argument

enum class ReasoningStyle {
  mode_default,       // vLLM, Ollama: delta.reasoning; SGLang, llama.cpp: delta.reasoning_content;
                      // OpenAI: none
  reasoning_content,  // delta.reasoning_content
  reasoning,          // delta.reasoning
  think_tags,         // "<think>...</think>" at the start of delta.content
  think_close_only,   // "...</think>" at the start of delta.content: the chat template opened
                      // <think> in the prompt (Qwen3, GLM), the model only closes it
};

enum class UsagePolicy { when_asked, always, never };

struct FakeAnswer {
  std::string content = "The answer is 42.";
  std::string reasoning;  // empty: no reasoning
  ReasoningStyle reasoning_style = ReasoningStyle::mode_default;
  int chunk_bytes = 5;  // text is streamed in pieces of about this many bytes (whole UTF-8 chars)
  int chunk_delay_ms = 0;  // pause between two events
  std::string finish_reason = "stop";
  // A repetition loop: when non-empty and the request carries no repetition penalty
  // (repetition_penalty, repeat_penalty or frequency_penalty), the content is `content` followed
  // by `loop` loop_repeats times, ending with finish_reason "length" as a model that ran into
  // max_tokens. With a penalty the plain `content` comes, unless loop_despite_penalty.
  std::string loop;
  int loop_repeats = 300;
  bool loop_despite_penalty = false;
};

enum class FaultKind {
  http_status,          // answer `status` with an error body in the mode's shape (+ Retry-After)
  reset_before_answer,  // read the request, then reset the connection
  reset_mid_stream,     // stream `after_events` events, then reset the connection
  stall_mid_stream,     // stream `after_events` events, then send nothing until the client leaves
  never_answer,         // read the request and send nothing until the client leaves
  error_event,    // stream `after_events` events, then an error event (and [DONE] if with_done)
  no_done,        // stream the content, then end the body without finish_reason and [DONE]
  non_json_line,  // stream `after_events` events, then "data: <not json>", then go on
};

struct FakeFault {
  FaultKind kind = FaultKind::http_status;
  int status = 500;
  std::string retry_after;     // Retry-After header value, sent when non-empty
  std::string retry_after_ms;  // retry-after-ms header value, sent when non-empty
  std::string message = "fake server failure";
  int after_events = 2;
  bool with_done = false;
};

struct FakeServerOptions {
  FakeServerMode mode = FakeServerMode::vllm;
  std::string model;    // empty: a name typical of the mode
  std::string api_key;  // when set, requests must carry "Authorization: Bearer <api_key>"
  int port = 0;         // 0: an ephemeral port
  FakeAnswer answer;
  UsagePolicy usage = UsagePolicy::when_asked;
  bool crlf = false;  // end SSE lines with CRLF instead of LF
  // Answer a streamed request with one chat.completion JSON (as some proxies and servers do).
  bool ignore_stream = false;
  bool byte_by_byte = false;   // send each byte of the stream in its own TCP segment
  int max_images = 0;          // 400 "At most N image(s)..." above it; 0 = no limit
  int max_context_tokens = 0;  // 400 context-length error above it; 0 = no limit
  bool loading = false;        // /health answers 503 as a server still loading its model
  // Keep every request for requests(); off for long runs (a benchmark of a thousand requests).
  bool record_requests = true;
  // Read the images of each chat request with Tesseract and answer from what was read
  // (fake_ocr_answer.h) instead of the scripted answer; the program's --mode ocr (a vLLM server
  // otherwise). max_context_tokens, when set, is also reported as /v1/models max_model_len.
  bool ocr = false;
  std::string ocr_language = "eng";
};

struct RecordedImage {
  bool valid_png = false;
  int width_px = 0, height_px = 0, channels = 0;
  std::string media_type;  // from the data URL, "image/png"
  std::string error;       // why it did not decode
};

struct RecordedRequest {
  std::string method, path;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  // For chat requests: the user message's parts in order ("image" or "text"), its images and
  // the text of its text parts.
  std::vector<std::string> part_kinds;
  std::vector<RecordedImage> images;
  std::string text;
  int prompt_tokens = 0;  // the fake's own count (images by 28x28 patches, text by 4 bytes)
};

class FakeVlmServer {
 public:
  explicit FakeVlmServer(FakeServerOptions options = {});
  ~FakeVlmServer();
  FakeVlmServer(const FakeVlmServer&) = delete;
  FakeVlmServer& operator=(const FakeVlmServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port>
  const std::string& model() const { return model_; }

  void push_fault(FakeFault fault);  // applies to the next chat request without a fault
  void set_answer(FakeAnswer answer);
  void set_loading(bool loading);

  std::vector<RecordedRequest> requests() const;
  int chat_requests() const;
  // How many times a client went away while this server was still streaming or waiting.
  int client_disconnects() const { return client_disconnects_.load(); }
  // Waits until client_disconnects() >= count or the timeout passes; returns whether it did.
  bool wait_for_disconnects(int count, std::chrono::milliseconds timeout) const;

  void stop();

 private:
  struct Connection;
  // The next pushed fault, taken off the queue (each applies to one chat request).
  std::optional<FakeFault> take_fault();
  void accept_loop();
  void serve(int fd);
  // POST /v1/messages: the Anthropic Messages API (see fake_vlm_server.cc).
  void serve_anthropic(Connection& connection, RecordedRequest& request,
                       const FakeServerOptions& options);

  FakeServerOptions options_;
  std::string model_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> client_disconnects_{0};
  mutable std::mutex mutex_;
  std::vector<FakeFault> faults_;
  std::vector<RecordedRequest> requests_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;  // finished ones are joined as new connections come
  std::thread acceptor_;
};

// Reader options for `server` with short timeouts and fast retries, so that the fault tests stay
// quick (the fault itself decides what is tested); callers set the key, protocol and model.
VlmReaderOptions fast_reader_options(const FakeVlmServer& server);

}  // namespace glyph::test
