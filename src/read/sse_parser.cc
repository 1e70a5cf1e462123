#include "read/sse_parser.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <span>

#include "core/error.h"

namespace glyph::detail {
namespace {

using nlohmann::json;

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>";
constexpr std::string_view kAnswerClose = "</answer>";

// A bounded, printable excerpt of what a server sent, for error messages.
std::string excerpt(std::string_view text, std::size_t max_bytes = 160) {
  std::string out;
  for (char c : text.substr(0, max_bytes)) out += (c == '\n' || c == '\r') ? ' ' : c;
  if (text.size() > max_bytes) out += "...";
  return out;
}

// Length of the longest suffix of text that is a proper prefix of tag.
std::size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

bool is_retryable_status(int status) {
  return status == 408 || status == 409 || status == 429 || status >= 500;
}

}  // namespace

void SseParser::feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event) {
  bytes_fed_ += bytes.size();
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  for (char c : bytes) {
    if (!bom_checked_) {
      // A UTF-8 byte order mark may open the stream; it is not part of the first field.
      if (c == kBom[bom_matched_]) {
        if (++bom_matched_ == kBom.size()) bom_checked_ = true;
        continue;
      }
      bom_checked_ = true;
      line_ += kBom.substr(0, bom_matched_);  // not a BOM after all: those bytes are text
    }
    if (c == '\n') {
      if (last_was_cr_) {  // the LF of a CRLF split across two feeds
        last_was_cr_ = false;
        continue;
      }
      process_line(on_event);
    } else if (c == '\r') {
      process_line(on_event);
      last_was_cr_ = true;
      continue;
    } else {
      line_ += c;
      if (line_.size() + event_.data.size() > max_event_bytes_) {
        throw Error(ErrorCode::limit_exceeded,
                    "server-sent event larger than " + std::to_string(max_event_bytes_) +
                        " bytes in the stream (at byte " + std::to_string(bytes_fed_) + ")");
      }
    }
    last_was_cr_ = false;
  }
}

void SseParser::process_line(const std::function<void(const SseEvent&)>& on_event) {
  if (line_.empty()) {
    if (has_data_) {
      SseEvent done;
      std::swap(done, event_);
      has_data_ = false;
      on_event(done);
    }
    event_.type.clear();
    return;
  }
  std::string_view line = line_;
  if (line.front() == ':') {  // comment / keep-alive
    line_.clear();
    return;
  }
  std::string_view field = line, value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data" || field == "error") {
    if (has_data_) event_.data += '\n';
    event_.data += value;
    has_data_ = true;
    if (field == "error") event_.type = "error";
  } else if (field == "event") {
    event_.type = std::string(value);
  }  // "id", "retry" and unknown fields are ignored, as the standard says
  line_.clear();
}

void ThinkSplitter::feed(std::string_view text, const Emit& on_content, const Emit& on_reasoning,
                         const Emit& on_orphan_close) {
  // Outside reasoning: "<think>" opens it; GLM-4.1V's "<answer>" / "</answer>" wrappers are
  // dropped; before any reasoning part, a "</think>" closes one the prompt opened. Inside: only
  // "</think>" means anything.
  static constexpr std::string_view kFirstTags[] = {kThinkOpen, kThinkClose, kAnswerOpen,
                                                    kAnswerClose};
  static constexpr std::string_view kContentTags[] = {kThinkOpen, kAnswerOpen, kAnswerClose};
  static constexpr std::string_view kReasoningTags[] = {kThinkClose};
  pending_ += text;
  for (;;) {
    std::span<const std::string_view> tags =
        in_think_     ? std::span<const std::string_view>(kReasoningTags)
        : seen_think_ ? std::span<const std::string_view>(kContentTags)
                      : std::span<const std::string_view>(kFirstTags);
    const Emit& emit = in_think_ ? on_reasoning : on_content;
    std::string_view view = pending_;
    std::size_t first = std::string_view::npos;
    std::string_view found;
    for (std::string_view tag : tags) {
      if (auto at = view.find(tag); at < first) {
        first = at;
        found = tag;
      }
    }
    if (first != std::string_view::npos) {
      if (found == kThinkClose && !in_think_) {  // closes a reasoning part the prompt opened
        const Emit& take = on_orphan_close ? on_orphan_close : on_reasoning;
        take(view.substr(0, first));
        seen_think_ = true;
        pending_.erase(0, first + found.size());
        continue;
      }
      if (first > 0) emit(view.substr(0, first));
      pending_.erase(0, first + found.size());
      if (found == kThinkOpen || found == kThinkClose) {
        in_think_ = !in_think_;
        seen_think_ = true;
      }
      continue;
    }
    std::size_t hold = 0;
    for (std::string_view tag : tags) hold = std::max(hold, partial_tag_suffix(view, tag));
    if (view.size() > hold) emit(view.substr(0, view.size() - hold));
    pending_.erase(0, view.size() - hold);
    return;
  }
}

void ThinkSplitter::finish(const Emit& on_content, const Emit& on_reasoning) {
  if (!pending_.empty()) (in_think_ ? on_reasoning : on_content)(pending_);
  pending_.clear();
}

RepetitionDetector::RepetitionDetector(std::size_t min_span_bytes, int min_repeats,
                                       std::size_t max_period_bytes)
    : min_span_(std::max<std::size_t>(min_span_bytes, 1)),
      max_period_(std::max<std::size_t>(max_period_bytes, 1)),
      min_repeats_(std::max(min_repeats, 2)) {}

bool RepetitionDetector::feed(std::string_view text) {
  if (text.empty()) return false;
  tail_ += text;
  // Enough to see the longest loop that counts, plus room to count its repeats.
  const std::size_t keep = 2 * std::max(min_span_, max_period_ * min_repeats_);
  if (tail_.size() > 2 * keep) tail_.erase(0, tail_.size() - keep);
  const std::size_t n = tail_.size();
  const char* t = tail_.data();
  for (std::size_t p = 1; p <= max_period_ && 2 * p <= n; ++p) {
    const std::size_t need = std::max(min_span_, p * min_repeats_);
    if (need > n) break;  // grows with p
    // The last need - p bytes each equal the byte p before them: the tail repeats with period p.
    std::size_t i = n;
    while (i > n - need + p && t[i - 1] == t[i - 1 - p]) --i;
    if (i > n - need + p) continue;
    std::size_t start = n - need;  // extend back to count every repeat
    while (start > 0 && t[start - 1] == t[start - 1 + p]) --start;
    period_ = p;
    repeats_ = static_cast<int>((n - start) / p);
    // The unit from a character boundary (a rotation of a repeating text repeats the same way).
    std::size_t from = n - p;
    while (from < n && (static_cast<unsigned char>(t[from]) & 0xC0) == 0x80) ++from;
    unit_ = from < n ? tail_.substr(from - p, p) : tail_.substr(n - p, p);
    if (unit_.size() > 120) {
      std::size_t cut = 120;
      while (cut > 0 && (static_cast<unsigned char>(unit_[cut]) & 0xC0) == 0x80) --cut;
      unit_.resize(cut);
    }
    return true;
  }
  return false;
}

std::string server_error_message(std::string_view body, int* status_code) {
  json parsed = json::parse(body, nullptr, false);
  auto take_code = [&](const json& object) {
    if (status_code && object.is_object() && object.contains("code") &&
        object["code"].is_number_integer()) {
      *status_code = object["code"].get<int>();
    }
  };
  if (parsed.is_object()) {
    const json* source = &parsed;
    if (parsed.contains("error")) {
      const json& error = parsed["error"];
      if (error.is_string()) return error.get<std::string>();
      if (error.is_object()) source = &error;
    }
    take_code(*source);
    if (source->contains("message") && (*source)["message"].is_string()) {
      std::string message = (*source)["message"].get<std::string>();
      if (!message.empty()) return message;
    }
    if (parsed.contains("detail") && parsed["detail"].is_string()) {  // FastAPI's own errors
      return parsed["detail"].get<std::string>();
    }
  }
  std::string_view trimmed = body;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.remove_suffix(1);
  }
  return excerpt(trimmed, 400);
}

void ChatStreamDecoder::check_size() const {
  if (content_.size() + reasoning_.size() > max_text_bytes_) {
    throw Error(ErrorCode::limit_exceeded, "the server's answer grew past " +
                                               std::to_string(max_text_bytes_) +
                                               " bytes; the read is stopped");
  }
}

void ChatStreamDecoder::emit_content(std::string_view text) {
  if (text.empty()) return;
  content_ += text;
  check_size();
  emitted_ = true;
  if (callbacks_.on_content) callbacks_.on_content(text);
}

void ChatStreamDecoder::emit_reasoning(std::string_view text) {
  if (text.empty()) return;
  reasoning_ += text;
  check_size();
  emitted_ = true;
  if (callbacks_.on_reasoning) callbacks_.on_reasoning(text);
}

void ChatStreamDecoder::reclassify_content(std::string_view tail) {
  reclassified_ = true;
  if (content_.empty()) {  // nothing went out as answer text: no replace needed
    emit_reasoning(tail);
    return;
  }
  reasoning_ += content_;
  reasoning_ += tail;
  content_.clear();
  check_size();
  emitted_ = true;
  if (callbacks_.on_replace) callbacks_.on_replace(content_, reasoning_);
}

void ChatStreamDecoder::take(const SseEvent& event) {
  if (done_) return;
  ++events_;
  std::string_view data = event.data;
  if (event.type != "error" && data == "[DONE]") {
    done_ = true;
    return;
  }
  json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    if (event.type == "error") {
      throw Error(ErrorCode::network, "the server reported an error mid-stream: " + excerpt(data));
    }
    throw Error(ErrorCode::network,
                "the server sent a stream line that is not a JSON object (event " +
                    std::to_string(events_) + "): " + excerpt(data));
  }
  if (event.type == "error" || chunk.contains("error") ||
      (chunk.contains("object") && chunk["object"] == "error")) {
    int status = 0;
    std::string message = server_error_message(data, &status);
    std::string text = "the server reported an error mid-stream";
    if (status > 0) text += " (code " + std::to_string(status) + ")";
    text += ": " + message;
    throw Error(status > 0 && !is_retryable_status(status) ? ErrorCode::server : ErrorCode::network,
                text);
  }
  if (chunk.contains("model") && chunk["model"].is_string())
    model_ = chunk["model"].get<std::string>();
  if (chunk.contains("usage") && chunk["usage"].is_object()) {
    const json& usage = chunk["usage"];
    if (usage.contains("prompt_tokens") && usage["prompt_tokens"].is_number_integer()) {
      usage_.prompt_tokens = usage["prompt_tokens"].get<int>();
    }
    if (usage.contains("completion_tokens") && usage["completion_tokens"].is_number_integer()) {
      usage_.completion_tokens = usage["completion_tokens"].get<int>();
    }
  }
  if (!chunk.contains("choices")) return;
  const json& choices = chunk["choices"];
  if (!choices.is_array()) {
    throw Error(ErrorCode::network,
                "the server sent a chunk whose \"choices\" is not an array (event " +
                    std::to_string(events_) + "): " + excerpt(data));
  }
  for (const json& choice : choices) {
    if (!choice.is_object()) continue;
    if (choice.contains("index") && choice["index"].is_number_integer() && choice["index"] != 0)
      continue;
    // "delta" in a stream; "message" when a server answered a streamed request in one piece.
    const char* key = choice.contains("delta") ? "delta" : "message";
    if (choice.contains(key) && choice[key].is_object()) {
      const json& delta = choice[key];
      for (const char* field : {"reasoning_content", "reasoning"}) {
        if (delta.contains(field) && delta[field].is_string())
          emit_reasoning(delta[field].get_ref<const std::string&>());
      }
      if (delta.contains("content") && delta["content"].is_string()) {
        think_.feed(
            delta["content"].get_ref<const std::string&>(),
            [this](std::string_view t) { emit_content(t); },
            [this](std::string_view t) { emit_reasoning(t); },
            [this](std::string_view t) { reclassify_content(t); });
      }
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
      finish_reason_ = choice["finish_reason"].get<std::string>();
    }
  }
}

void ChatStreamDecoder::finish() {
  if (!done_ && finish_reason_.empty()) {
    throw Error(
        ErrorCode::network,
        "the stream ended before the answer was complete (no [DONE] and no finish_reason after " +
            std::to_string(events_) + " events, " + std::to_string(content_.size()) +
            " bytes of answer); the partial answer is discarded");
  }
  think_.finish([this](std::string_view t) { emit_content(t); },
                [this](std::string_view t) { emit_reasoning(t); });
}

}  // namespace glyph::detail
