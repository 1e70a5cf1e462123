// Server-sent events and the Chat Completions stream carried over them (internal to src/read).
//
// SseParser turns bytes, split anywhere (also inside a UTF-8 character or between CR and LF),
// into events, following the WHATWG event-stream rules: lines end in LF, CR or CRLF; "data:"
// lines of one event are joined with LF; a blank line ends an event; lines starting with ":" are
// comments (keep-alives). llama.cpp's server reports a failure mid-stream as an "error: {...}"
// line rather than a data line, so a line with the field "error" becomes an event of type
// "error".
//
// ChatStreamDecoder reads the events of a streamed /v1/chat/completions answer: content, reasoning
// (delta.reasoning_content, delta.reasoning, or <think>...</think> inside the content, tags split
// across chunks included; an <answer>...</answer> wrapper is removed), finish_reason, usage and
// model. It throws glyph::Error on an error event or a data line that is not JSON, and finish()
// throws when the stream ended without
// "[DONE]" and without a finish_reason: the answer is then incomplete and must not be used.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "read/reader.h"

namespace glyph::detail {

struct SseEvent {
  std::string type;  // the "event:" field; "error" for llama.cpp's error lines; empty otherwise
  std::string data;  // the data lines, joined with "\n"
};

class SseParser {
 public:
  // max_event_bytes bounds the memory a server can make us hold for one event.
  explicit SseParser(std::size_t max_event_bytes = 8u << 20) : max_event_bytes_(max_event_bytes) {}

  // Feeds the next bytes; calls on_event for each event completed by them. Throws
  // Error(limit_exceeded) when one event grows past max_event_bytes.
  void feed(std::string_view bytes, const std::function<void(const SseEvent&)>& on_event);

  std::size_t bytes_fed() const { return bytes_fed_; }
  // True when bytes of an unfinished line or event are pending (the stream was cut mid-event).
  bool has_pending() const { return !line_.empty() || has_data_; }

 private:
  void process_line(const std::function<void(const SseEvent&)>& on_event);

  std::size_t max_event_bytes_;
  std::size_t bytes_fed_ = 0;
  std::string line_;
  bool last_was_cr_ = false;
  bool bom_checked_ = false;
  std::size_t bom_matched_ = 0;
  SseEvent event_;
  bool has_data_ = false;
};

// Splits <think>...</think> out of streamed content and drops the <answer>...</answer> wrapper
// GLM-4.1V-style models put around the answer. Tags may arrive split across pieces; text that
// might be the start of a tag is held back until the next piece decides.
//
// A "</think>" before any "<think>" (Qwen3 and GLM chat templates open the reasoning in the
// prompt) means that everything before it was reasoning: on_orphan_close gets the text between
// the last piece emitted and the tag, and the caller moves what it took as content so far into
// the reasoning. Without that callback the text goes to on_reasoning. Only the first such tag
// counts; once a reasoning part was opened or closed, a "</think>" outside one is plain text.
class ThinkSplitter {
 public:
  using Emit = std::function<void(std::string_view)>;
  void feed(std::string_view text, const Emit& on_content, const Emit& on_reasoning,
            const Emit& on_orphan_close = {});
  void finish(const Emit& on_content, const Emit& on_reasoning);

 private:
  std::string pending_;
  bool in_think_ = false;
  bool seen_think_ = false;  // a <think> or an orphan </think> was met
};

// Watches streamed text for a repetition loop: its tail made of one unit of up to max_period
// bytes repeated at least min_repeats times and over at least min_span bytes (a byte n-gram, so
// it works the same for words, CJK text and punctuation).
class RepetitionDetector {
 public:
  RepetitionDetector(std::size_t min_span_bytes, int min_repeats, std::size_t max_period_bytes);
  // Appends text; true when the tail now repeats (then period(), repeats() and unit() say how).
  bool feed(std::string_view text);
  void reset() { tail_.clear(); }
  std::size_t period() const { return period_; }
  int repeats() const { return repeats_; }
  const std::string& unit() const { return unit_; }

 private:
  std::size_t min_span_, max_period_;
  int min_repeats_;
  std::string tail_;
  std::size_t period_ = 0;
  int repeats_ = 0;
  std::string unit_;
};

// The message a server put in an error body: {"error": {"message": ...}}, {"error": "..."},
// SGLang's flat {"object": "error", "message": ...}, or the body itself (trimmed, bounded) when
// it is not JSON. *status_code gets error.code when it is a number (else stays unchanged).
std::string server_error_message(std::string_view body, int* status_code = nullptr);

// What the reader needs of a decoded answer stream, whichever protocol carried it.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  virtual void take(const SseEvent& event) = 0;
  virtual void finish() = 0;
  virtual const std::string& content() const = 0;
  virtual const std::string& reasoning() const = 0;
  virtual const std::string& finish_reason() const = 0;
  virtual const std::string& model() const = 0;
  virtual ReadUsage usage() const = 0;
};

class ChatStreamDecoder : public StreamDecoder {
 public:
  // max_text_bytes bounds the answer plus reasoning kept in memory (Error limit_exceeded past it).
  explicit ChatStreamDecoder(const ReadCallbacks& callbacks, std::size_t max_text_bytes = 64u << 20)
      : callbacks_(callbacks), max_text_bytes_(max_text_bytes) {}

  // Takes one SSE event. Throws Error(server) for an error event whose code is a client error
  // (4xx other than 408/409/429), Error(network) for other error events and for a data line that
  // is not JSON or not a chat completion chunk (both retryable).
  void take(const SseEvent& event) override;
  // The bytes ended. Throws Error(network) when the stream is incomplete.
  void finish() override;

  bool done() const { return done_; }
  // True when a "</think>" without an opening tag moved the content streamed so far into the
  // reasoning (on_replace was called, or would have been had anything been shown).
  bool reasoning_reclassified() const { return reclassified_; }
  bool emitted_anything() const { return emitted_; }
  const std::string& content() const override { return content_; }
  const std::string& reasoning() const override { return reasoning_; }
  const std::string& finish_reason() const override { return finish_reason_; }
  const std::string& model() const override { return model_; }
  ReadUsage usage() const override { return usage_; }
  int events() const { return events_; }

 private:
  void emit_content(std::string_view text);
  void emit_reasoning(std::string_view text);
  void reclassify_content(std::string_view tail);

  void check_size() const;

  const ReadCallbacks& callbacks_;
  std::size_t max_text_bytes_;
  ThinkSplitter think_;
  std::string content_, reasoning_, finish_reason_, model_;
  ReadUsage usage_;
  bool done_ = false;
  bool emitted_ = false;
  bool reclassified_ = false;
  int events_ = 0;
};

// Reads the events of a streamed Anthropic Messages answer (POST /v1/messages, stream: true):
// message_start (model, usage.input_tokens and the cache counts), content_block_start / _delta /
// _stop (text_delta to the answer, thinking_delta to the reasoning; signature_delta and
// redacted_thinking blocks are dropped), message_delta (stop_reason, usage.output_tokens),
// message_stop (the end), ping, and error events. Also takes a whole non-streamed message
// ({"type": "message", "content": [...]}) as one event.
//
// finish_reason: end_turn and stop_sequence → "stop", max_tokens → "length", others (refusal,
// pause_turn, tool_use) as they are. Usage: prompt_tokens = input_tokens +
// cache_creation_input_tokens + cache_read_input_tokens, completion_tokens = output_tokens.
// Errors: an error event whose error.type is overloaded_error, api_error, rate_limit_error or
// timeout_error is Error(network) (retryable); any other type is Error(server) carrying the
// message. A data line that is not JSON is Error(network); finish() throws Error(network) when
// no message_stop came.
class AnthropicStreamDecoder : public StreamDecoder {
 public:
  explicit AnthropicStreamDecoder(const ReadCallbacks& callbacks,
                                  std::size_t max_text_bytes = 64u << 20)
      : callbacks_(callbacks), max_text_bytes_(max_text_bytes) {}

  void take(const SseEvent& event) override;
  void finish() override;

  bool done() const { return done_; }
  const std::string& content() const override { return content_; }
  const std::string& reasoning() const override { return reasoning_; }
  const std::string& finish_reason() const override { return finish_reason_; }
  const std::string& model() const override { return model_; }
  ReadUsage usage() const override { return usage_; }

 private:
  void add_text(std::string_view text, bool thinking);

  const ReadCallbacks& callbacks_;
  std::size_t max_text_bytes_;
  std::string content_, reasoning_, finish_reason_, model_;
  ReadUsage usage_;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace glyph::detail
