// Decoding a streamed chat answer: SSE parsing plus the chunk JSON, fed as a network would
// deliver it (TCP-sized pieces) and, side by side, one byte at a time (the worst split).
#include <benchmark/benchmark.h>

#include <string>

#include "read/sse_parser.h"

namespace {

// A vLLM-shaped stream: one event per few tokens, about 6,000 events.
std::string make_stream() {
  std::string stream;
  for (int i = 0; i < 6000; ++i) {
    stream += R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1760000000,)"
              R"("model":"zai-org/Glyph","choices":[{"index":0,"delta":{"content":"word )" +
              std::to_string(i) + R"( "},"logprobs":null,"finish_reason":null}]})" + "\n\n";
  }
  stream +=
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: "
      "[DONE]\n\n";
  return stream;
}

void decode(benchmark::State& state, std::size_t piece_bytes) {
  const std::string stream = make_stream();
  for (auto _ : state) {
    glyph::ReadCallbacks callbacks;
    glyph::detail::ChatStreamDecoder decoder(callbacks);
    glyph::detail::SseParser parser;
    for (std::size_t at = 0; at < stream.size(); at += piece_bytes) {
      parser.feed(std::string_view(stream).substr(at, piece_bytes),
                  [&](const glyph::detail::SseEvent& event) { decoder.take(event); });
    }
    decoder.finish();
    benchmark::DoNotOptimize(decoder.content().size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
}

void BM_sse_decode_tcp_pieces(benchmark::State& state) {
  decode(state, 1448);
}
void BM_sse_decode_byte_by_byte(benchmark::State& state) {
  decode(state, 1);
}
BENCHMARK(BM_sse_decode_tcp_pieces)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sse_decode_byte_by_byte)->Unit(benchmark::kMillisecond);

}  // namespace
