// VlmReader: a Reader over any OpenAI-compatible Chat Completions server (vLLM, SGLang,
// llama.cpp's llama-server, Ollama, OpenAI), through libcurl.
//
// What it sends (../shared/specs/vlm-api.md): POST {base}/v1/chat/completions with every page as
// an inline data:image/png;base64 URL (never a URL for the server to fetch), the pages first and
// the prompt last in one user message, stream=true with stream_options.include_usage. A page over
// max_pixels is downscaled (area averaging) before it is encoded; ReadResult::images says the size
// sent, which is the size to count visual tokens for. Sampling fields go out only when set.
// repetition_penalty is named `repeat_penalty` for llama.cpp and `repetition_penalty` for the
// others (sending both is not safe: OpenAI refuses unknown fields); when the server kind is not
// given and a repetition penalty is set, the kind is read from /v1/models `owned_by` once.
//
// Failures: HTTP 408/409/429/5xx, connection failures and broken streams (an error event, a line
// that is not JSON, an end without [DONE] and without finish_reason, a stall past the idle
// timeout) are retried with exponential backoff and full jitter, or after the server's
// Retry-After / retry-after-ms, within max_retries and total_timeout_ms; other 4xx are not retried.
// The final error is a glyph::Error carrying the server's own message. Cancellation
// (ReadCallbacks::is_cancelled, polled every 50 ms) closes the connection, so the server sees the
// client go away and can stop generating.
//
// Reasoning: delta.reasoning / delta.reasoning_content, or <think>...</think> in the content. A
// model whose chat template opened "<think>" in the prompt writes only "</think>": its text is
// streamed as answer text until that tag comes, then ReadCallbacks::on_replace moves it into the
// reasoning (see reader.h).
//
// Repetition loops: VLMs reading pages fall into loops (the same line or phrase over and over
// until max_tokens). While streaming, the answer and the reasoning are each watched for a tail
// that repeats (VlmReaderOptions::loop_*); when one does, the request is closed at once and sent
// again, once, with a repetition penalty under the name the server takes: repetition_penalty
// (vLLM, SGLang, unknown servers) or repeat_penalty (llama.cpp) at max(loop_retry_penalty, the
// request's own + 0.1), or frequency_penalty = loop_retry_frequency_penalty (OpenAI and Ollama,
// whose OpenAI API has no multiplicative penalty). on_restart is called before the retry.
// ReadResult::repetition reports it. If the retry loops too, its answer up to that point is
// returned with finish_reason "repetition" (like "length", an answer cut short).
//
// Anthropic (VlmReaderOptions::api): the same reader speaks the Messages API: thinking blocks are
// the reasoning, text blocks the answer; usage from message_start and message_delta; retries,
// timeouts and cancellation as above (HTTP 529 "overloaded" is a 5xx: retried). A loop is
// reported but not retried (the API has no repetition penalty): the answer ends at the loop with
// finish_reason "repetition".
//
// Limits: one choice (n = 1).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "read/reader.h"

namespace glyph {

enum class ServerKind { unknown, vllm, sglang, llamacpp, ollama, openai };

// The protocol: OpenAI Chat Completions (POST /v1/chat/completions), or the Anthropic Messages API
// (POST /v1/messages: base64 image blocks, the system prompt as a field, max_tokens required,
// streamed message_start / content_block_delta (text_delta, thinking_delta) / message_delta /
// message_stop events, x-api-key and anthropic-version headers, the key from $ANTHROPIC_API_KEY).
enum class ApiProtocol { openai, anthropic };
// "openai", "anthropic"; throws Error(invalid_argument) naming the accepted values.
ApiProtocol parse_api_protocol(std::string_view name);
std::string_view to_string(ApiProtocol api);

// "vllm", "sglang", "llamacpp" (also "llama.cpp", "llama-server"), "ollama", "openai", "auto".
// Throws Error(invalid_argument) naming the accepted values.
ServerKind parse_server_kind(std::string_view name);
std::string_view to_string(ServerKind kind);

// Qwen2-VL's default max_pixels (28 * 28 * 16384); GLM-4.1V's processor caps near the same size.
inline constexpr int64_t kDefaultVlmMaxPixels = 12'845'056;

struct VlmReaderOptions {
  std::string base_url;  // http(s)://host:port, with or without a trailing /v1
  std::string model;     // empty: the first model GET /v1/models lists
  std::string api_key;   // empty: $GLYPH_API_KEY, else $OPENAI_API_KEY ($ANTHROPIC_API_KEY for
                         // api anthropic), else none
  ApiProtocol api = ApiProtocol::openai;
  std::string anthropic_version = "2023-06-01";  // the anthropic-version header
  int anthropic_max_tokens = 4096;  // max_tokens when the request sets none (the API needs one)
  int thinking_budget_tokens = 0;   // > 0: ask for extended thinking with this budget (anthropic)
  ServerKind server_kind = ServerKind::unknown;
  long connect_timeout_ms = 10'000;
  long first_byte_timeout_ms = 300'000;  // prefill of many pages can take minutes on a busy server
  long idle_timeout_ms = 60'000;         // longest silence between two pieces of the stream
  long total_timeout_ms = 900'000;       // the whole read(): every attempt and every wait
  int max_retries = 4;                   // attempts = 1 + max_retries
  long backoff_initial_ms = 500;
  long backoff_max_ms = 20'000;
  int64_t max_pixels = kDefaultVlmMaxPixels;  // per image; 0 = no cap
  int max_images = 0;  // per request when the server's limit is known; 0 = none
  // Repetition loops: a streamed answer (or reasoning) whose tail repeats one unit of up to
  // loop_max_period_bytes at least loop_min_repeats times over at least loop_min_span_bytes is
  // stopped and asked again once with a repetition penalty (see the header comment).
  bool detect_loops = true;
  int loop_min_repeats = 6;
  int loop_min_span_bytes = 512;
  int loop_max_period_bytes = 512;
  double loop_retry_penalty = 1.1;            // repetition_penalty / repeat_penalty of the retry
  double loop_retry_frequency_penalty = 0.5;  // frequency_penalty of the retry (OpenAI, Ollama)
};

struct ModelInfo {
  std::string id;
  std::string owned_by;  // "vllm", "sglang", "llamacpp", "library" (Ollama), "openai", ...
  // The model's context in tokens when the server says (max_model_len, context_length).
  std::optional<int64_t> context_tokens;
};

struct ServerHealth {
  bool ok = false;
  int http_status = 0;   // 0 when no HTTP answer came
  std::string endpoint;  // the URL that answered
  std::string message;   // "ok", the server's message, or why the check failed
};

class VlmReader : public Reader {
 public:
  // Validates the URL (http or https only) and resolves the API key; no network traffic.
  // Throws Error(invalid_argument).
  explicit VlmReader(VlmReaderOptions options);
  ~VlmReader() override;
  VlmReader(const VlmReader&) = delete;
  VlmReader& operator=(const VlmReader&) = delete;

  // "openai:<model>" or "anthropic:<model>" ("openai:?" until the model is known)
  std::string name() const override;
  ReadResult read(const ReadRequest& request, const ReadCallbacks& callbacks) override;
  // The served model's context from GET /v1/models (asked once); unset when not reported.
  std::optional<int64_t> context_tokens() override;

  // GET /v1/models. Throws Error(network | timeout | server).
  std::vector<ModelInfo> list_models();
  // The model sent with requests: the option, else the first listed one (asked once).
  // Throws Error(not_found) when the server lists none.
  std::string resolve_model();
  // GET /health (vLLM, SGLang, llama.cpp: 503 while loading), else GET / (Ollama), else
  // GET /v1/models (OpenAI). Never throws for a server-side problem; ok says it all.
  ServerHealth check_health();

  const VlmReaderOptions& options() const { return options_; }
  const std::string& base_url() const { return base_url_; }  // normalized: no trailing / or /v1

 private:
  // The same lookups bounded by what is left of a read, and cancellable with it.
  std::vector<ModelInfo> fetch_models(long timeout_ms, const std::function<bool()>& is_cancelled);
  std::string resolve_model(long timeout_ms, const std::function<bool()>& is_cancelled);
  ServerKind resolve_server_kind(long timeout_ms, const std::function<bool()>& is_cancelled);

  VlmReaderOptions options_;
  std::string base_url_;
  std::string api_key_;
  std::string anthropic_version_;  // set for api anthropic
  std::string model_;
  ServerKind server_kind_ = ServerKind::unknown;
  bool kind_checked_ = false;
  std::optional<int64_t> context_tokens_;
  bool context_checked_ = false;
};

namespace detail {
// Delay before retry number `retry` (0-based): the server's wish when it gave one (Retry-After in
// seconds or as an HTTP date, or retry-after-ms), else min(max, initial * 2^retry) scaled by a
// uniform jitter factor in [0.5, 1].
long retry_delay_ms(int retry, long initial_ms, long max_ms, long server_wish_ms,
                    double jitter_unit);
// Parses Retry-After ("120" or an IMF-fixdate) or retry-after-ms; -1 when absent or unreadable.
long parse_retry_after_ms(std::string_view retry_after, std::string_view retry_after_ms);
// True when a server's 400 message says the prompt exceeds the model's context.
bool is_context_length_message(std::string_view message);
}  // namespace detail

}  // namespace glyph
