#include "read/vlm_reader.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "core/error.h"
#include "image/image.h"
#include "read/sse_parser.h"

namespace glyph {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using detail::server_error_message;

constexpr long kPollMs = 50;
constexpr long kLookupTimeoutMs = 60'000;  // a GET of /v1/models or /health on its own // how often
                                           // cancellation and timers are checked
constexpr std::size_t kMaxBodyBytes = 4u << 20;  // error bodies and non-streamed answers
constexpr std::string_view kApiKeyHint = " (check --api-key, GLYPH_API_KEY or OPENAI_API_KEY)";

long ms_between(Clock::time_point from, Clock::time_point to) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count());
}
double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return std::string(text);
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool is_retryable_status(int status) {
  // 529: the Anthropic API's "overloaded".
  return status == 408 || status == 409 || status == 429 || status == 500 || status == 502 ||
         status == 503 || status == 504 || status == 529;
}

// One HTTP exchange driven through the multi interface, so that cancellation and the first-byte
// and idle timeouts are checked every kPollMs instead of libcurl's once-a-second progress calls.
struct Transfer {
  std::string url;
  std::string method = "GET";
  std::string body;
  std::string api_key;
  // Non-empty: the Anthropic API's headers (x-api-key, anthropic-version) instead of a Bearer.
  std::string anthropic_version;
  long connect_timeout_ms = 10'000;
  long first_byte_timeout_ms = 60'000;
  long idle_timeout_ms = 60'000;
  Clock::time_point deadline;
  std::function<bool()> is_cancelled;
  // Called with the body bytes of a 200 text/event-stream answer as they arrive; may throw.
  std::function<void(std::string_view)> on_stream_bytes;
};

enum class TransferEnd {
  complete,
  cancelled,
  first_byte_timeout,
  idle_timeout,
  total_timeout,
  curl_failed
};

struct TransferResult {
  TransferEnd end = TransferEnd::complete;
  int status = 0;
  std::string content_type, retry_after, retry_after_ms;
  std::string body;  // everything but a streamed 200 body, bounded by kMaxBodyBytes
  bool streamed = false;
  bool got_first_byte = false;
  std::size_t body_bytes = 0;
  CURLcode curl_code = CURLE_OK;
  std::string curl_message;
};

struct TransferState {
  const Transfer* transfer = nullptr;
  TransferResult* result = nullptr;
  CURL* easy = nullptr;
  Clock::time_point last_activity;
  std::exception_ptr failure;  // an exception from on_stream_bytes, rethrown after the transfer
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  std::string_view line(data, size * count);
  // Headers do not count as the first byte: servers send them before a long prefill ends, and
  // the first-byte timeout is meant to cover that prefill.
  state->last_activity = Clock::now();
  if (line.starts_with("HTTP/")) {  // a new response (after a 100 Continue, say): forget the last
    state->result->content_type.clear();
    state->result->retry_after.clear();
    state->result->retry_after_ms.clear();
    auto space = line.find(' ');
    state->result->status = space == std::string_view::npos
                                ? 0
                                : std::atoi(std::string(line.substr(space + 1, 3)).c_str());
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name = lowercase(line.substr(0, colon));
  std::string value = trim(line.substr(colon + 1));
  if (name == "content-type") state->result->content_type = lowercase(value);
  if (name == "retry-after") state->result->retry_after = value;
  if (name == "retry-after-ms") state->result->retry_after_ms = value;
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  std::string_view bytes(data, size * count);
  TransferResult& result = *state->result;
  state->last_activity = Clock::now();
  result.got_first_byte = true;
  result.body_bytes += bytes.size();
  if (result.status == 200 && result.content_type.find("text/event-stream") != std::string::npos &&
      state->transfer->on_stream_bytes) {
    result.streamed = true;
    try {
      state->transfer->on_stream_bytes(bytes);
    } catch (...) {
      state->failure = std::current_exception();
      return 0;  // aborts the transfer; libcurl must not see the exception
    }
    return bytes.size();
  }
  if (result.body.size() + bytes.size() > kMaxBodyBytes) {
    state->failure = std::make_exception_ptr(
        Error(ErrorCode::limit_exceeded, "the server's answer at " + state->transfer->url +
                                             " is larger than " + std::to_string(kMaxBodyBytes) +
                                             " bytes"));
    return 0;
  }
  result.body += bytes;
  return bytes.size();
}

TransferResult run_transfer(const Transfer& transfer) {
  ensure_curl_initialized();
  TransferResult result;
  TransferState state;
  state.transfer = &transfer;
  state.result = &result;

  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  if (!easy || !multi) throw Error(ErrorCode::internal, "libcurl could not create a handle");
  struct Cleanup {
    CURL* easy;
    CURLM* multi;
    curl_slist* headers = nullptr;
    ~Cleanup() {
      curl_multi_remove_handle(multi, easy);
      curl_easy_cleanup(easy);  // closes the connection: an aborted request ends on the server too
      curl_multi_cleanup(multi);
      curl_slist_free_all(headers);
    }
  } cleanup{easy, multi};

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(easy, CURLOPT_URL, transfer.url.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, transfer.connect_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "glyph/" GLYPH_VERSION);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &state);
  cleanup.headers = curl_slist_append(cleanup.headers, "Expect:");  // no 100-continue round trip
  if (!transfer.anthropic_version.empty()) {
    cleanup.headers = curl_slist_append(
        cleanup.headers, ("anthropic-version: " + transfer.anthropic_version).c_str());
    if (!transfer.api_key.empty())
      cleanup.headers =
          curl_slist_append(cleanup.headers, ("x-api-key: " + transfer.api_key).c_str());
  } else if (!transfer.api_key.empty()) {
    cleanup.headers =
        curl_slist_append(cleanup.headers, ("Authorization: Bearer " + transfer.api_key).c_str());
  }
  if (transfer.method == "POST") {
    cleanup.headers = curl_slist_append(cleanup.headers, "Content-Type: application/json");
    cleanup.headers =
        curl_slist_append(cleanup.headers, "Accept: text/event-stream, application/json");
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, transfer.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(transfer.body.size()));
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, cleanup.headers);
  curl_multi_add_handle(multi, easy);

  const Clock::time_point start = Clock::now();
  state.last_activity = start;
  for (;;) {
    int running = 0;
    CURLMcode code = curl_multi_perform(multi, &running);
    if (code != CURLM_OK)
      throw Error(ErrorCode::internal, std::string("libcurl: ") + curl_multi_strerror(code));
    if (state.failure) std::rethrow_exception(state.failure);
    if (running == 0) break;
    const Clock::time_point now = Clock::now();
    if (transfer.is_cancelled && transfer.is_cancelled()) {
      result.end = TransferEnd::cancelled;
      return result;
    }
    if (now >= transfer.deadline) {
      result.end = TransferEnd::total_timeout;
      return result;
    }
    if (!result.got_first_byte && ms_between(start, now) > transfer.first_byte_timeout_ms) {
      result.end = TransferEnd::first_byte_timeout;
      return result;
    }
    if (result.got_first_byte && ms_between(state.last_activity, now) > transfer.idle_timeout_ms) {
      result.end = TransferEnd::idle_timeout;
      return result;
    }
    curl_multi_poll(multi, nullptr, 0, static_cast<int>(kPollMs), nullptr);
  }
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
    if (message->msg == CURLMSG_DONE) result.curl_code = message->data.result;
  }
  if (state.failure) std::rethrow_exception(state.failure);
  if (result.curl_code != CURLE_OK) {
    result.end = TransferEnd::curl_failed;
    result.curl_message = error_buffer[0] ? error_buffer : curl_easy_strerror(result.curl_code);
  }
  return result;
}

// A failure worth another attempt, with the server's wish for the delay when it gave one.
// Thrown from the stream callbacks to stop a request whose text went into a loop.
struct LoopStop {
  std::string where;
  std::size_t period = 0;
  int repeats = 0;
  std::string unit;
};

struct RetryableFailure {
  Error error;
  long server_wish_ms = -1;
};

bool curl_failure_is_retryable(CURLcode code) {
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_TOO_MANY_REDIRECTS: return false;
    default:
      return true;  // refused, reset, closed early, timed out connecting: the server may come back
  }
}

std::string describe_curl_failure(const TransferResult& result, const std::string& url) {
  std::string text = "connection to " + url + " failed: " + result.curl_message;
  if (result.got_first_byte)
    text += " (after " + std::to_string(result.body_bytes) + " bytes of answer)";
  return text;
}

// Turns an unsuccessful HTTP answer into the error to throw or retry.
[[noreturn]] void fail_for_status(const TransferResult& result, const std::string& url,
                                  const ReadRequest* request,
                                  const std::vector<SentImage>* images) {
  std::string message = server_error_message(result.body);
  std::string text =
      "the server at " + url + " answered HTTP " + std::to_string(result.status) + ": " + message;
  if (is_retryable_status(result.status)) {
    throw RetryableFailure{Error(ErrorCode::network, text),
                           detail::parse_retry_after_ms(result.retry_after, result.retry_after_ms)};
  }
  if ((result.status == 400 || result.status == 413) &&
      detail::is_context_length_message(message)) {
    std::string ours;
    if (images) {
      ours = "; this request has " + std::to_string(images->size()) + " page image(s)";
      if (!images->empty()) {
        ours += " sent at " + std::to_string(images->front().width_px) + "x" +
                std::to_string(images->front().height_px) + " px (first page)";
      }
    }
    if (request && request->estimated_prompt_tokens >= 0) {
      ours += "; our count of its prompt: " + std::to_string(request->estimated_prompt_tokens) +
              " tokens";
    }
    throw Error(ErrorCode::limit_exceeded,
                "the prompt is longer than the model's context: " + text + ours +
                    " (use fewer pages, a lower --dpi, or a model with a longer context)");
  }
  if (result.status == 400 && message.find("image") != std::string::npos &&
      (message.find("At most") != std::string::npos ||
       message.find("at most") != std::string::npos)) {
    throw Error(ErrorCode::limit_exceeded, "the server refuses this many images: " + text);
  }
  if (result.status == 401 || result.status == 403) text += kApiKeyHint;
  throw Error(ErrorCode::server, text);
}

void sleep_cancellable(long delay_ms, const std::function<bool()>& is_cancelled) {
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(delay_ms);
  while (Clock::now() < until) {
    if (is_cancelled && is_cancelled()) throw Error(ErrorCode::cancelled, "the read was cancelled");
    std::this_thread::sleep_for(
        std::min(std::chrono::milliseconds(kPollMs),
                 std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()) +
                     std::chrono::milliseconds(1)));
  }
}

double jitter_unit() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

std::string normalize_base_url(std::string url) {
  url = trim(url);
  std::string lower = lowercase(url);
  if (!lower.starts_with("http://") && !lower.starts_with("https://")) {
    throw Error(ErrorCode::invalid_argument,
                "VLM server URL must start with http:// or https:// (got \"" + url + "\")");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.ends_with("/v1")) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() <= std::string_view("https://").size() - (lower.starts_with("https://") ? 0 : 1)) {
    throw Error(ErrorCode::invalid_argument, "VLM server URL has no host (got \"" + url + "\")");
  }
  return url;
}

std::string timeout_text(TransferEnd end, const Transfer& transfer, const TransferResult& result) {
  switch (end) {
    case TransferEnd::first_byte_timeout:
      return "no answer from " + transfer.url + " within the first-byte timeout of " +
             std::to_string(transfer.first_byte_timeout_ms) + " ms";
    case TransferEnd::idle_timeout:
      return "the stream from " + transfer.url + " stalled: nothing for " +
             std::to_string(transfer.idle_timeout_ms) + " ms (idle timeout) after " +
             std::to_string(result.body_bytes) + " bytes; the partial answer is discarded";
    default: return "no complete answer from " + transfer.url + " within the total timeout";
  }
}

}  // namespace

namespace detail {

long retry_delay_ms(int retry, long initial_ms, long max_ms, long server_wish_ms, double jitter) {
  if (server_wish_ms >= 0) return server_wish_ms;
  double base = static_cast<double>(std::max(1L, initial_ms)) * std::pow(2.0, std::min(retry, 30));
  base = std::min(base, static_cast<double>(std::max(1L, max_ms)));
  return static_cast<long>(base * (0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0)));
}

long parse_retry_after_ms(std::string_view retry_after, std::string_view retry_after_ms) {
  auto parse_number = [](std::string_view text, double* out) {
    std::string owned = trim(text);
    if (owned.empty()) return false;
    char* end = nullptr;
    double value = std::strtod(owned.c_str(), &end);
    if (end != owned.c_str() + owned.size() || !std::isfinite(value) || value < 0) return false;
    *out = value;
    return true;
  };
  double value = 0;
  if (parse_number(retry_after_ms, &value)) return static_cast<long>(std::min(value, 1e9));
  if (parse_number(retry_after, &value)) return static_cast<long>(std::min(value * 1000.0, 1e9));
  std::string date = trim(retry_after);
  if (date.empty()) return -1;
  std::tm when{};
  const char* end = strptime(date.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &when);
  if (!end || *end != '\0') return -1;
  double seconds = std::difftime(timegm(&when), std::time(nullptr));
  return seconds <= 0 ? 0 : static_cast<long>(std::min(seconds * 1000.0, 1e9));
}

bool is_context_length_message(std::string_view message) {
  std::string lower = lowercase(message);
  for (std::string_view needle :
       {"context length", "context_length", "maximum context", "context window", "context size",
        "too many tokens", "prompt is too long", "input is too long",
        "exceeds the available context"}) {
    if (lower.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace detail

ServerKind parse_server_kind(std::string_view name) {
  std::string lower = lowercase(name);
  if (lower == "auto" || lower.empty()) return ServerKind::unknown;
  if (lower == "vllm") return ServerKind::vllm;
  if (lower == "sglang") return ServerKind::sglang;
  if (lower == "llamacpp" || lower == "llama.cpp" || lower == "llama-server")
    return ServerKind::llamacpp;
  if (lower == "ollama") return ServerKind::ollama;
  if (lower == "openai") return ServerKind::openai;
  throw Error(ErrorCode::invalid_argument,
              "unknown server kind \"" + std::string(name) +
                  "\" (expected auto, vllm, sglang, llamacpp, ollama or openai)");
}

ApiProtocol parse_api_protocol(std::string_view name) {
  if (name == "openai") return ApiProtocol::openai;
  if (name == "anthropic") return ApiProtocol::anthropic;
  throw Error(ErrorCode::invalid_argument,
              "--api: expected openai or anthropic, got \"" + std::string(name) + "\"");
}

std::string_view to_string(ApiProtocol api) {
  return api == ApiProtocol::anthropic ? "anthropic" : "openai";
}

std::string_view to_string(ServerKind kind) {
  switch (kind) {
    case ServerKind::vllm: return "vllm";
    case ServerKind::sglang: return "sglang";
    case ServerKind::llamacpp: return "llamacpp";
    case ServerKind::ollama: return "ollama";
    case ServerKind::openai: return "openai";
    case ServerKind::unknown: break;
  }
  return "auto";
}

VlmReader::VlmReader(VlmReaderOptions options) : options_(std::move(options)) {
  base_url_ = normalize_base_url(options_.base_url);
  api_key_ = options_.api_key;
  const bool anthropic = options_.api == ApiProtocol::anthropic;
  if (anthropic) anthropic_version_ = options_.anthropic_version;
  for (const char* variable :
       {"GLYPH_API_KEY", anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY"}) {
    if (!api_key_.empty()) break;
    if (const char* value = std::getenv(variable)) api_key_ = value;
  }
  model_ = options_.model;
  server_kind_ = options_.server_kind;
  kind_checked_ = server_kind_ != ServerKind::unknown;
  if (options_.max_retries < 0)
    throw Error(ErrorCode::invalid_argument, "max_retries must be >= 0");
  if (options_.max_pixels < 0) throw Error(ErrorCode::invalid_argument, "max_pixels must be >= 0");
  for (long timeout : {options_.connect_timeout_ms, options_.first_byte_timeout_ms,
                       options_.idle_timeout_ms, options_.total_timeout_ms}) {
    if (timeout <= 0) throw Error(ErrorCode::invalid_argument, "VLM timeouts must be > 0 ms");
  }
}

VlmReader::~VlmReader() = default;

std::string VlmReader::name() const {
  return std::string(to_string(options_.api)) + ":" + (model_.empty() ? std::string("?") : model_);
}

std::vector<ModelInfo> VlmReader::list_models() {
  return fetch_models(std::min(options_.total_timeout_ms, kLookupTimeoutMs), {});
}

std::vector<ModelInfo> VlmReader::fetch_models(long timeout_ms,
                                               const std::function<bool()>& is_cancelled) {
  Transfer transfer;
  transfer.url = base_url_ + "/v1/models";
  transfer.api_key = api_key_;
  transfer.anthropic_version = anthropic_version_;
  transfer.connect_timeout_ms = options_.connect_timeout_ms;
  transfer.first_byte_timeout_ms = std::min(options_.first_byte_timeout_ms, kLookupTimeoutMs);
  transfer.idle_timeout_ms = options_.idle_timeout_ms;
  transfer.deadline = Clock::now() + std::chrono::milliseconds(std::max(1L, timeout_ms));
  transfer.is_cancelled = is_cancelled;
  TransferResult result = run_transfer(transfer);
  if (result.end == TransferEnd::cancelled)
    throw Error(ErrorCode::cancelled, "the read was cancelled");
  if (result.end == TransferEnd::curl_failed)
    throw Error(ErrorCode::network, describe_curl_failure(result, transfer.url));
  if (result.end != TransferEnd::complete)
    throw Error(ErrorCode::timeout, timeout_text(result.end, transfer, result));
  if (result.status != 200) {
    std::string text = "the server at " + transfer.url + " answered HTTP " +
                       std::to_string(result.status) + ": " + server_error_message(result.body);
    if (result.status == 401 || result.status == 403) text += kApiKeyHint;
    throw Error(is_retryable_status(result.status) ? ErrorCode::network : ErrorCode::server, text);
  }
  json parsed = json::parse(result.body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("data") || !parsed["data"].is_array()) {
    throw Error(ErrorCode::server,
                "the answer of " + transfer.url + " has no \"data\" list of models");
  }
  std::vector<ModelInfo> models;
  for (const json& entry : parsed["data"]) {
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_string()) continue;
    ModelInfo info;
    info.id = entry["id"].get<std::string>();
    if (entry.contains("owned_by") && entry["owned_by"].is_string())
      info.owned_by = entry["owned_by"].get<std::string>();
    // vLLM and SGLang: max_model_len; OpenRouter, LM Studio and others: context_length.
    for (const char* field : {"max_model_len", "context_length", "context_window"}) {
      if (entry.contains(field) && entry[field].is_number_integer() &&
          entry[field].get<int64_t>() > 0) {
        info.context_tokens = entry[field].get<int64_t>();
        break;
      }
    }
    models.push_back(std::move(info));
  }
  return models;
}

std::optional<int64_t> VlmReader::context_tokens() {
  if (context_checked_) return context_tokens_;
  context_checked_ = true;
  try {
    const std::string model = resolve_model();
    for (const ModelInfo& info : list_models()) {
      if (info.id == model) context_tokens_ = info.context_tokens;
    }
  } catch (const Error&) {
    // No answer from /v1/models: the context is unknown; the chat request reports real failures.
  }
  return context_tokens_;
}

std::string VlmReader::resolve_model() {
  return resolve_model(std::min(options_.total_timeout_ms, kLookupTimeoutMs), {});
}

std::string VlmReader::resolve_model(long timeout_ms, const std::function<bool()>& is_cancelled) {
  if (!model_.empty()) return model_;
  std::vector<ModelInfo> models = fetch_models(timeout_ms, is_cancelled);
  if (models.empty()) {
    throw Error(ErrorCode::not_found,
                "the server at " + base_url_ + " lists no models at /v1/models; pass --model");
  }
  model_ = models.front().id;
  if (!kind_checked_) {
    std::string owner = lowercase(models.front().owned_by);
    if (owner == "vllm")
      server_kind_ = ServerKind::vllm;
    else if (owner == "sglang")
      server_kind_ = ServerKind::sglang;
    else if (owner == "llamacpp")
      server_kind_ = ServerKind::llamacpp;
    else if (owner == "library" || owner == "ollama")
      server_kind_ = ServerKind::ollama;
    else if (owner == "openai" || owner == "system" || owner == "openai-internal")
      server_kind_ = ServerKind::openai;
    kind_checked_ = true;
  }
  return model_;
}

ServerKind VlmReader::resolve_server_kind(long timeout_ms,
                                          const std::function<bool()>& is_cancelled) {
  if (kind_checked_) return server_kind_;
  kind_checked_ = true;
  try {
    std::vector<ModelInfo> models = fetch_models(timeout_ms, is_cancelled);
    for (const ModelInfo& model : models) {
      if (!model_.empty() && model.id != model_ && models.size() > 1) continue;
      std::string owner = lowercase(model.owned_by);
      if (owner == "llamacpp")
        server_kind_ = ServerKind::llamacpp;
      else if (owner == "vllm")
        server_kind_ = ServerKind::vllm;
      else if (owner == "sglang")
        server_kind_ = ServerKind::sglang;
      else if (owner == "library" || owner == "ollama")
        server_kind_ = ServerKind::ollama;
      else if (owner == "openai" || owner == "system" || owner == "openai-internal")
        server_kind_ = ServerKind::openai;
      break;
    }
  } catch (const Error&) {
    // Unknown kind: the standard field names are used; the chat request reports real failures.
  }
  return server_kind_;
}

ServerHealth VlmReader::check_health() {
  ServerHealth health;
  for (std::string_view path : {"/health", "/", "/v1/models"}) {
    Transfer transfer;
    transfer.url = base_url_ + std::string(path);
    transfer.api_key = api_key_;
    transfer.anthropic_version = anthropic_version_;
    transfer.anthropic_version = anthropic_version_;
    transfer.connect_timeout_ms = options_.connect_timeout_ms;
    transfer.first_byte_timeout_ms = std::min(options_.first_byte_timeout_ms, 30'000L);
    transfer.idle_timeout_ms = options_.idle_timeout_ms;
    transfer.deadline =
        Clock::now() + std::chrono::milliseconds(std::min(options_.total_timeout_ms, 60'000L));
    TransferResult result;
    try {
      result = run_transfer(transfer);
    } catch (const Error& error) {
      health.endpoint = transfer.url;
      health.message = error.what();
      return health;
    }
    health.endpoint = transfer.url;
    health.http_status = result.status;
    if (result.end == TransferEnd::curl_failed) {
      health.message = describe_curl_failure(result, transfer.url);
      return health;  // nothing listens: the other paths would fail the same way
    }
    if (result.end != TransferEnd::complete) {
      health.message = timeout_text(result.end, transfer, result);
      return health;
    }
    if (result.status == 404 || result.status == 405) continue;  // no such route on this server
    health.ok = result.status == 200;
    health.message = health.ok ? "ok" : server_error_message(result.body);
    if (result.status == 503)
      health.message = "the server is not ready (still loading?): " + health.message;
    return health;
  }
  health.message = "the server answers none of /health, / and /v1/models";
  return health;
}

ReadResult VlmReader::read(const ReadRequest& request, const ReadCallbacks& callbacks) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::milliseconds(options_.total_timeout_ms);
  auto cancelled = [&] { return callbacks.is_cancelled && callbacks.is_cancelled(); };
  if (cancelled()) throw Error(ErrorCode::cancelled, "the read was cancelled");

  std::string prompt = request.prompt.empty() ? request.question : request.prompt;
  if (prompt.empty() && request.pages.empty()) {
    throw Error(ErrorCode::invalid_argument, "a read needs a prompt or at least one page");
  }
  if (options_.max_images > 0 && static_cast<int>(request.pages.size()) > options_.max_images) {
    throw Error(ErrorCode::limit_exceeded,
                "this request has " + std::to_string(request.pages.size()) +
                    " page images but the server takes at most " +
                    std::to_string(options_.max_images) + " per request");
  }

  const bool anthropic = options_.api == ApiProtocol::anthropic;
  ReadResult result;
  json content = json::array();
  for (std::size_t i = 0; i < request.pages.size(); ++i) {
    const PageInput& page = request.pages[i];
    if (!page.image || page.image->empty()) {
      throw Error(ErrorCode::invalid_argument, "page " + std::to_string(page.page_number) +
                                                   " (input " + std::to_string(i + 1) +
                                                   ") has no image");
    }
    SentImage sent{page.page_number, page.image->width_px, page.image->height_px, false};
    std::string png;
    if (options_.max_pixels > 0 &&
        static_cast<int64_t>(page.image->width_px) * page.image->height_px > options_.max_pixels) {
      PageImage scaled = downscale_to_fit(*page.image, options_.max_pixels);
      sent.width_px = scaled.width_px;
      sent.height_px = scaled.height_px;
      sent.downscaled = true;
      png = encode_png(scaled);
    } else {
      png = encode_png(*page.image);
    }
    result.images.push_back(sent);
    if (anthropic) {
      content.push_back(
          {{"type", "image"},
           {"source",
            {{"type", "base64"}, {"media_type", "image/png"}, {"data", base64_encode(png)}}}});
    } else {
      content.push_back({{"type", "image_url"},
                         {"image_url", {{"url", "data:image/png;base64," + base64_encode(png)}}}});
    }
  }
  if (!prompt.empty()) content.push_back({{"type", "text"}, {"text", prompt}});

  const SamplingOptions& sampling = request.sampling;
  json body = {{"stream", true}};
  json messages = json::array();
  if (anthropic) {
    // Messages API: the system prompt is a top-level field, max_tokens is required, thinking is
    // asked for with a budget; it has no repetition penalty, stop_token_ids or
    // skip_special_tokens (they are not sent).
    if (!request.system_prompt.empty()) body["system"] = request.system_prompt;
    body["max_tokens"] = sampling.max_tokens.value_or(options_.anthropic_max_tokens);
    if (options_.thinking_budget_tokens > 0)
      body["thinking"] = {{"type", "enabled"}, {"budget_tokens", options_.thinking_budget_tokens}};
  } else {
    body["stream_options"] = {{"include_usage", true}};
    if (!request.system_prompt.empty())
      messages.push_back({{"role", "system"}, {"content", request.system_prompt}});
    if (sampling.max_tokens) body["max_tokens"] = *sampling.max_tokens;
    if (!sampling.stop_token_ids.empty()) body["stop_token_ids"] = sampling.stop_token_ids;
    if (sampling.skip_special_tokens) body["skip_special_tokens"] = *sampling.skip_special_tokens;
  }
  messages.push_back({{"role", "user"}, {"content", std::move(content)}});
  body["messages"] = std::move(messages);
  if (sampling.temperature) body["temperature"] = *sampling.temperature;
  if (sampling.top_p) body["top_p"] = *sampling.top_p;
  if (sampling.top_k) body["top_k"] = *sampling.top_k;
  // The model and the repetition penalty's name may need the server (/v1/models): that happens
  // inside the first attempt, so a server still starting up gets the same retries.
  auto finish_body = [&] {
    auto remaining_ms = [&] { return std::max(1L, ms_between(Clock::now(), deadline)); };
    result.model = resolve_model(remaining_ms(), callbacks.is_cancelled);
    if (sampling.repetition_penalty && !anthropic) {
      const ServerKind kind = resolve_server_kind(remaining_ms(), callbacks.is_cancelled);
      body[kind == ServerKind::llamacpp ? "repeat_penalty" : "repetition_penalty"] =
          *sampling.repetition_penalty;
    }
    body["model"] = result.model;
    std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
    body = json();
    return text;
  };

  Transfer transfer;
  transfer.url = base_url_ + (anthropic ? "/v1/messages" : "/v1/chat/completions");
  transfer.method = "POST";
  transfer.api_key = api_key_;
  transfer.anthropic_version = anthropic_version_;
  transfer.connect_timeout_ms = options_.connect_timeout_ms;
  transfer.first_byte_timeout_ms = options_.first_byte_timeout_ms;
  transfer.idle_timeout_ms = options_.idle_timeout_ms;
  transfer.deadline = deadline;
  transfer.is_cancelled = callbacks.is_cancelled;

  bool shown_anything = false;  // text went out through the callbacks in an earlier attempt
  for (int attempt = 0;; ++attempt) {
    if (cancelled()) throw Error(ErrorCode::cancelled, "the read was cancelled");
    const Clock::time_point attempt_start = Clock::now();
    Clock::time_point first_token{};
    ReadCallbacks relay;
    relay.on_content = [&](std::string_view text) {
      if (first_token == Clock::time_point{}) first_token = Clock::now();
      shown_anything = true;
      if (callbacks.on_content) callbacks.on_content(text);
    };
    relay.on_reasoning = [&](std::string_view text) {
      if (first_token == Clock::time_point{}) first_token = Clock::now();
      shown_anything = true;
      if (callbacks.on_reasoning) callbacks.on_reasoning(text);
    };
    relay.on_replace = [&](std::string_view content, std::string_view reasoning) {
      shown_anything = true;
      if (callbacks.on_replace) callbacks.on_replace(content, reasoning);
    };
    const std::size_t min_span =
        static_cast<std::size_t>(std::max(1, options_.loop_min_span_bytes));
    const std::size_t max_period =
        static_cast<std::size_t>(std::max(1, options_.loop_max_period_bytes));
    detail::RepetitionDetector content_loop(min_span, options_.loop_min_repeats, max_period);
    detail::RepetitionDetector reasoning_loop(min_span, options_.loop_min_repeats, max_period);
    auto watch = [&](detail::RepetitionDetector& detector, std::string_view text,
                     const char* where) {
      if (options_.detect_loops && detector.feed(text))
        throw LoopStop{where, detector.period(), detector.repeats(), detector.unit()};
    };
    relay.on_content = [&, forward = relay.on_content](std::string_view text) {
      forward(text);
      watch(content_loop, text, "content");
    };
    relay.on_reasoning = [&, forward = relay.on_reasoning](std::string_view text) {
      forward(text);
      watch(reasoning_loop, text, "reasoning");
    };
    relay.on_replace = [&, forward = relay.on_replace](std::string_view content,
                                                       std::string_view reasoning) {
      forward(content, reasoning);
      content_loop.reset();
      reasoning_loop.reset();
      watch(reasoning_loop, reasoning, "reasoning");
      watch(content_loop, content, "content");
    };
    std::unique_ptr<detail::StreamDecoder> decoder_owner;
    if (anthropic)
      decoder_owner = std::make_unique<detail::AnthropicStreamDecoder>(relay);
    else
      decoder_owner = std::make_unique<detail::ChatStreamDecoder>(relay);
    detail::StreamDecoder& decoder = *decoder_owner;
    detail::SseParser parser;
    std::optional<RetryableFailure> retry_reason;
    auto complete = [&](const detail::StreamDecoder& decoded, std::string finish_reason) {
      result.content = decoded.content();
      result.reasoning = decoded.reasoning();
      result.finish_reason = std::move(finish_reason);
      if (!decoded.model().empty()) result.model = decoded.model();
      result.usage = decoded.usage();
      const Clock::time_point end = Clock::now();
      result.first_token_seconds =
          seconds_between(attempt_start, first_token == Clock::time_point{} ? end : first_token);
      result.total_seconds = seconds_between(start, end);
      result.attempts = attempt + 1;
      return result;
    };
    transfer.on_stream_bytes = [&](std::string_view bytes) {
      parser.feed(bytes, [&](const detail::SseEvent& event) { decoder.take(event); });
    };
    try {
      if (transfer.body.empty()) transfer.body = finish_body();
      TransferResult outcome = run_transfer(transfer);
      switch (outcome.end) {
        case TransferEnd::cancelled:
          throw Error(ErrorCode::cancelled,
                      "the read was cancelled; the request to " + transfer.url + " was closed");
        case TransferEnd::total_timeout:
          throw Error(ErrorCode::timeout, "no complete answer from " + transfer.url +
                                              " within total_timeout_ms = " +
                                              std::to_string(options_.total_timeout_ms) + " (" +
                                              std::to_string(attempt + 1) + " attempt(s))");
        case TransferEnd::first_byte_timeout:
        case TransferEnd::idle_timeout:
          throw RetryableFailure{
              Error(ErrorCode::timeout, timeout_text(outcome.end, transfer, outcome))};
        case TransferEnd::curl_failed:
          if (curl_failure_is_retryable(outcome.curl_code)) {
            throw RetryableFailure{
                Error(ErrorCode::network, describe_curl_failure(outcome, transfer.url))};
          }
          throw Error(ErrorCode::network, describe_curl_failure(outcome, transfer.url));
        case TransferEnd::complete: break;
      }
      if (outcome.status != 200) fail_for_status(outcome, transfer.url, &request, &result.images);
      if (!outcome.streamed) {
        // A server that answered the streamed request in one JSON piece.
        if (outcome.content_type.find("json") == std::string::npos) {
          throw RetryableFailure{
              Error(ErrorCode::network,
                    "the server at " + transfer.url + " answered with \"" + outcome.content_type +
                        "\" instead of a stream: " + server_error_message(outcome.body))};
        }
        decoder.take(detail::SseEvent{"", outcome.body});
      }
      decoder.finish();
      return complete(decoder, decoder.finish_reason().empty() ? "stop" : decoder.finish_reason());
    } catch (const LoopStop& loop) {
      if (result.repetition.detected) {
        // The retry looped too: what it said up to the loop is the answer, marked as cut short.
        result.repetition.retry_looped = true;
        return complete(decoder, "repetition");
      }
      RepetitionLoop& report = result.repetition;
      report.detected = true;
      report.where = loop.where;
      report.period_bytes = static_cast<int>(loop.period);
      report.repeats = loop.repeats;
      report.unit = loop.unit;
      if (anthropic) {
        // The Messages API has no repetition or frequency penalty: nothing to retry with.
        report.retry_looped = true;
        return complete(decoder, "repetition");
      }
      const ServerKind kind = resolve_server_kind(std::max(1L, ms_between(Clock::now(), deadline)),
                                                  callbacks.is_cancelled);
      if (kind == ServerKind::openai || kind == ServerKind::ollama) {
        report.retry_field = "frequency_penalty";
        report.retry_value = options_.loop_retry_frequency_penalty;
      } else {
        report.retry_field = kind == ServerKind::llamacpp ? "repeat_penalty" : "repetition_penalty";
        report.retry_value =
            std::max(options_.loop_retry_penalty, sampling.repetition_penalty.value_or(1.0) + 0.1);
      }
      json resent = json::parse(transfer.body, nullptr, false);
      if (!resent.is_object()) throw Error(ErrorCode::internal, "the request body did not parse");
      resent.erase("repetition_penalty");
      resent.erase("repeat_penalty");
      resent[report.retry_field] = report.retry_value;
      transfer.body = resent.dump(-1, ' ', false, json::error_handler_t::replace);
      if (cancelled()) throw Error(ErrorCode::cancelled, "the read was cancelled");
      if (shown_anything && callbacks.on_restart) callbacks.on_restart();
      shown_anything = false;
      continue;  // at once: the server is fine, the text was not
    } catch (RetryableFailure& failure) {
      retry_reason.emplace(std::move(failure));
    } catch (const Error& error) {
      // The stream decoder's network errors (a broken stream) are worth another attempt too.
      if (error.code() != ErrorCode::network) throw;
      retry_reason.emplace(RetryableFailure{error});
    }
    const Error& error = retry_reason->error;
    if (attempt >= options_.max_retries) {
      throw Error(error.code(), std::string(error.what()) + " (gave up after " +
                                    std::to_string(attempt + 1) + " attempt(s))");
    }
    const long delay_ms =
        detail::retry_delay_ms(attempt, options_.backoff_initial_ms, options_.backoff_max_ms,
                               retry_reason->server_wish_ms, jitter_unit());
    if (Clock::now() + std::chrono::milliseconds(delay_ms) >= deadline) {
      throw Error(error.code(), std::string(error.what()) + " (gave up after " +
                                    std::to_string(attempt + 1) + " attempt(s): waiting " +
                                    std::to_string(delay_ms) +
                                    " ms for the next would pass total_timeout_ms = " +
                                    std::to_string(options_.total_timeout_ms) + ")");
    }
    sleep_cancellable(delay_ms, callbacks.is_cancelled);
    if (shown_anything && callbacks.on_restart) callbacks.on_restart();
    shown_anything = false;
  }
}

void to_json(nlohmann::json& out, const RepetitionLoop& loop) {
  out = {{"where", loop.where},
         {"period_bytes", loop.period_bytes},
         {"repeats", loop.repeats},
         {"unit", loop.unit},
         {"retry_field", loop.retry_field},
         {"retry_value", loop.retry_value},
         {"retry_looped", loop.retry_looped}};
}

}  // namespace glyph
