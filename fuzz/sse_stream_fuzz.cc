// Fuzzes what a VLM server sends back: the SSE parser and the chat stream decoder, with the bytes
// fed in pieces whose size the first input byte picks, then the error-body reader.
// Run: build-fuzz/sse_stream_fuzz -max_total_time=60 -timeout=5 fuzz/corpus/sse_stream
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "read/sse_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  glyph::ReadCallbacks callbacks;
  std::size_t shown = 0;
  callbacks.on_content = [&](std::string_view text) { shown += text.size(); };
  callbacks.on_reasoning = [&](std::string_view text) { shown += text.size(); };
  // A "</think>" after answer text: what was shown is replaced by the whole text so far.
  callbacks.on_replace = [&](std::string_view content, std::string_view reasoning) {
    shown = content.size() + reasoning.size();
  };
  glyph::detail::ChatStreamDecoder decoder(callbacks);
  glyph::detail::SseParser parser(1 << 16);
  try {
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
      parser.feed(bytes.substr(at, piece),
                  [&](const glyph::detail::SseEvent& event) { decoder.take(event); });
    }
    decoder.finish();
  } catch (const glyph::Error&) {
    // A clear error is a correct outcome for a broken stream.
  }
  // What a consumer of the callbacks shows is exactly what the decoder kept.
  if (decoder.content().size() + decoder.reasoning().size() != shown) __builtin_trap();
  int code = 0;
  (void)glyph::detail::server_error_message(bytes, &code);
  return 0;
}
