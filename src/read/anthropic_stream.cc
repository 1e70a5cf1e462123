// AnthropicStreamDecoder: the events of a streamed Anthropic Messages answer (sse_parser.h).
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "read/sse_parser.h"

namespace glyph::detail {
namespace {

using nlohmann::json;

std::string excerpt(std::string_view data) {
  constexpr std::size_t kMax = 200;
  return data.size() <= kMax ? std::string(data) : std::string(data.substr(0, kMax)) + "...";
}

std::string finish_reason_of(const std::string& stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return "stop";
  if (stop_reason == "max_tokens") return "length";
  return stop_reason;
}

int count_of(const json& usage, const char* key) {
  const auto it = usage.find(key);
  return it != usage.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

void AnthropicStreamDecoder::add_text(std::string_view text, bool thinking) {
  if (text.empty()) return;
  if (content_.size() + reasoning_.size() + text.size() > max_text_bytes_)
    throw Error(ErrorCode::limit_exceeded, "the answer is longer than " +
                                               std::to_string(max_text_bytes_) +
                                               " bytes; the stream was stopped");
  if (thinking) {
    reasoning_ += text;
    if (callbacks_.on_reasoning) callbacks_.on_reasoning(text);
  } else {
    content_ += text;
    if (callbacks_.on_content) callbacks_.on_content(text);
  }
}

void AnthropicStreamDecoder::take(const SseEvent& event) {
  if (event.data.empty()) return;
  json data = json::parse(event.data, nullptr, false);
  if (data.is_discarded() || !data.is_object())
    throw Error(ErrorCode::network,
                "the server sent a stream line that is not a JSON object: " + excerpt(event.data));
  const std::string type = data.value("type", event.type);
  if (type == "error" || event.type == "error") {
    const json error = data.contains("error") && data["error"].is_object() ? data["error"] : data;
    const std::string kind = error.value("type", "");
    const std::string message = error.value("message", excerpt(event.data));
    const bool retryable = kind == "overloaded_error" || kind == "api_error" ||
                           kind == "rate_limit_error" || kind == "timeout_error" || kind.empty();
    throw Error(
        retryable ? ErrorCode::network : ErrorCode::server,
        "the server reported an error mid-stream: " + (kind.empty() ? "" : kind + ": ") + message);
  }
  auto take_usage = [&](const json& usage) {
    if (!usage.is_object()) return;
    if (usage.contains("input_tokens"))
      usage_.prompt_tokens = count_of(usage, "input_tokens") +
                             count_of(usage, "cache_creation_input_tokens") +
                             count_of(usage, "cache_read_input_tokens");
    if (usage.contains("output_tokens"))
      usage_.completion_tokens = count_of(usage, "output_tokens");
  };
  if (type == "message_start" || type == "message") {
    const json& message = type == "message" ? data : data["message"];
    if (!message.is_object())
      throw Error(ErrorCode::network, "message_start without a message: " + excerpt(event.data));
    started_ = true;
    if (message.contains("model") && message["model"].is_string())
      model_ = message["model"].get<std::string>();
    if (message.contains("usage")) take_usage(message["usage"]);
    if (type == "message") {  // a whole, non-streamed answer
      if (message.contains("content") && message["content"].is_array()) {
        for (const json& block : message["content"]) {
          if (!block.is_object()) continue;
          const std::string kind = block.value("type", "");
          if (kind == "text") add_text(block.value("text", ""), false);
          if (kind == "thinking") add_text(block.value("thinking", ""), true);
        }
      }
      if (message.contains("stop_reason") && message["stop_reason"].is_string())
        finish_reason_ = finish_reason_of(message["stop_reason"].get<std::string>());
      done_ = true;
    }
    return;
  }
  if (type == "content_block_start") {
    // A block may start with text already in it (rare: the API sends it empty).
    const json& block = data.contains("content_block") ? data["content_block"] : json();
    if (block.is_object()) {
      const std::string kind = block.value("type", "");
      if (kind == "text") add_text(block.value("text", ""), false);
      if (kind == "thinking") add_text(block.value("thinking", ""), true);
    }
    return;
  }
  if (type == "content_block_delta") {
    const json& delta = data.contains("delta") ? data["delta"] : json();
    if (!delta.is_object())
      throw Error(ErrorCode::network,
                  "content_block_delta without a delta: " + excerpt(event.data));
    const std::string kind = delta.value("type", "");
    if (kind == "text_delta") add_text(delta.value("text", ""), false);
    if (kind == "thinking_delta") add_text(delta.value("thinking", ""), true);
    return;  // signature_delta, input_json_delta: nothing to show
  }
  if (type == "message_delta") {
    const json& delta = data.contains("delta") ? data["delta"] : json();
    if (delta.is_object() && delta.contains("stop_reason") && delta["stop_reason"].is_string())
      finish_reason_ = finish_reason_of(delta["stop_reason"].get<std::string>());
    if (data.contains("usage")) take_usage(data["usage"]);
    return;
  }
  if (type == "message_stop") {
    done_ = true;
    return;
  }
  // ping, content_block_stop and event types added later: nothing to do.
}

void AnthropicStreamDecoder::finish() {
  if (done_) return;
  throw Error(ErrorCode::network,
              started_ ? "the stream ended before message_stop: the answer is incomplete"
                       : "the stream ended before any message_start");
}

}  // namespace glyph::detail
