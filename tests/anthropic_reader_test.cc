// The VLM reader speaking the Anthropic Messages API (VlmReaderOptions::api = anthropic) against
// the fake server's /v1/messages, and its stream decoder on hand-written events.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "image/image.h"
#include "read/sse_parser.h"
#include "read/vlm_reader.h"
#include "support/fake_vlm_server.h"

namespace glyph {
namespace {

using nlohmann::json;
using test::FakeFault;
using test::FakeServerOptions;
using test::FakeVlmServer;
using test::FaultKind;

std::shared_ptr<const PageImage> page_image(int width, int height) {
  auto image = std::make_shared<PageImage>(width, height, 1, 255);
  for (int y = 0; y < height; y += 5) image->row(y)[y % width] = 0;
  return image;
}

ReadRequest two_pages() {
  ReadRequest request;
  request.prompt = "What is the code?";
  request.system_prompt = "Read the pages.";
  request.pages.push_back(PageInput{1, page_image(120, 80), std::nullopt, 72});
  request.pages.push_back(PageInput{2, page_image(60, 40), std::nullopt, 72});
  return request;
}

VlmReaderOptions anthropic_options(const FakeVlmServer& server) {
  VlmReaderOptions options = test::fast_reader_options(server);
  options.api_key = "sk-ant-test";
  options.api = ApiProtocol::anthropic;
  options.model = server.model();
  return options;
}

FakeServerOptions server_options() {
  FakeServerOptions options;
  options.api_key = "sk-ant-test";
  options.answer.content = "The code is 7421.";
  return options;
}

TEST(anthropic_reader, sends_base64_image_blocks_and_streams_the_answer) {
  FakeServerOptions so = server_options();
  so.answer.reasoning = "The second line says 7421.";
  FakeVlmServer server(so);
  VlmReaderOptions options = anthropic_options(server);
  options.thinking_budget_tokens = 2048;
  VlmReader reader(options);
  std::string streamed, thought;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view text) { streamed += text; };
  callbacks.on_reasoning = [&](std::string_view text) { thought += text; };
  const ReadResult result = reader.read(two_pages(), callbacks);

  // The thinking block is the reasoning, kept apart from the answer.
  EXPECT_EQ(result.content, "The code is 7421.");
  EXPECT_EQ(streamed, result.content);
  EXPECT_EQ(result.reasoning, "The second line says 7421.");
  EXPECT_EQ(thought, result.reasoning);
  EXPECT_EQ(result.finish_reason, "stop");
  EXPECT_EQ(result.model, server.model());
  EXPECT_EQ(reader.name(), "anthropic:" + server.model());
  ASSERT_EQ(server.requests().size(), 1u);
  const test::RecordedRequest sent = server.requests()[0];
  EXPECT_EQ(sent.path, "/v1/messages");
  EXPECT_EQ(sent.headers.at("x-api-key"), "sk-ant-test");
  EXPECT_EQ(sent.headers.at("anthropic-version"), "2023-06-01");
  EXPECT_EQ(sent.headers.count("authorization"), 0u);
  EXPECT_EQ(sent.part_kinds, (std::vector<std::string>{"image", "image", "text"}));
  ASSERT_EQ(sent.images.size(), 2u);
  EXPECT_TRUE(sent.images[0].valid_png);
  EXPECT_EQ(sent.images[0].media_type, "image/png");
  EXPECT_EQ(sent.images[1].width_px, 60);
  const json body = json::parse(sent.body);
  EXPECT_EQ(body["system"], "Read the pages.");
  EXPECT_EQ(body["max_tokens"], 4096);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["thinking"]["budget_tokens"], 2048);
  EXPECT_FALSE(body.contains("stream_options"));
  EXPECT_EQ(body["messages"].size(), 1u);  // no system message in the list
  // Usage: input_tokens (with the cache counts) and output_tokens from message_delta.
  EXPECT_EQ(result.usage.prompt_tokens, sent.prompt_tokens);
  EXPECT_EQ(result.usage.completion_tokens,
            1 + static_cast<int>((so.answer.content.size() + so.answer.reasoning.size()) / 4));
}

TEST(anthropic_reader, errors_in_the_apis_shapes) {
  FakeVlmServer server(server_options());
  {
    VlmReaderOptions options = anthropic_options(server);
    options.api_key = "wrong";
    VlmReader reader(options);
    try {
      reader.read(two_pages(), {});
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::server);
      EXPECT_NE(std::string(e.what()).find("invalid x-api-key"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
    }
  }
  VlmReader reader(anthropic_options(server));
  // 529 overloaded is retried, then the answer comes.
  FakeFault overloaded;
  overloaded.kind = FaultKind::http_status;
  overloaded.status = 529;
  overloaded.message = "Overloaded";
  server.push_fault(overloaded);
  ReadResult result = reader.read(two_pages(), {});
  EXPECT_EQ(result.content, "The code is 7421.");
  EXPECT_EQ(result.attempts, 2);
  // An error event mid-stream (overloaded_error) is retried; restart is signalled.
  FakeFault mid;
  mid.kind = FaultKind::error_event;
  mid.status = 529;
  mid.after_events = 4;
  server.push_fault(mid);
  int restarts = 0;
  ReadCallbacks callbacks;
  callbacks.on_content = [](std::string_view) {};
  callbacks.on_restart = [&] { ++restarts; };
  result = reader.read(two_pages(), callbacks);
  EXPECT_EQ(result.content, "The code is 7421.");
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(restarts, 1);
  // A stream cut before message_stop is incomplete: retried, never returned as an answer.
  FakeFault cut;
  cut.kind = FaultKind::no_done;
  server.push_fault(cut);
  server.push_fault(cut);
  server.push_fault(cut);
  try {
    reader.read(two_pages(), {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
    EXPECT_NE(std::string(e.what()).find("message_stop"), std::string::npos) << e.what();
  }
  // A context overflow is a limit, with the server's words.
  FakeServerOptions small = server_options();
  small.max_context_tokens = 10;
  FakeVlmServer tight(small);
  VlmReader tight_reader(anthropic_options(tight));
  try {
    tight_reader.read(two_pages(), {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::limit_exceeded);
    EXPECT_NE(std::string(e.what()).find("prompt is too long"), std::string::npos) << e.what();
  }
}

TEST(anthropic_reader, max_tokens_and_a_loop_end_the_answer) {
  FakeServerOptions so = server_options();
  so.answer.finish_reason = "length";
  FakeVlmServer server(so);
  VlmReader reader(anthropic_options(server));
  ReadRequest request = two_pages();
  request.sampling.max_tokens = 64;
  request.sampling.repetition_penalty = 1.2;  // the API has none: not sent
  ReadResult result = reader.read(request, {});
  EXPECT_EQ(result.finish_reason, "length");
  const json body = json::parse(server.requests().back().body);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_FALSE(body.contains("repetition_penalty"));

  so.answer.finish_reason = "stop";
  so.answer.loop = "the same line again, ";
  server.set_answer(so.answer);
  result = reader.read(two_pages(), {});
  EXPECT_TRUE(result.repetition.detected);
  EXPECT_EQ(result.repetition.where, "content");
  EXPECT_EQ(result.finish_reason, "repetition");
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.content.rfind("The code is 7421.", 0), 0u);
  EXPECT_LT(result.content.size(), 21u * 300);
}

TEST(anthropic_stream, decodes_events_and_refuses_bad_ones) {
  std::string shown;
  ReadCallbacks callbacks;
  callbacks.on_content = [&](std::string_view text) { shown += text; };
  detail::AnthropicStreamDecoder decoder(callbacks);
  decoder.take({"message_start",
                R"({"type":"message_start","message":{"model":"claude-x","usage":)"
                R"({"input_tokens":100,"cache_read_input_tokens":20,"output_tokens":1}}})"});
  decoder.take({"ping", R"({"type":"ping"})"});
  decoder.take(
      {"content_block_delta",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"});
  decoder.take(
      {"message_delta",
       R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}})"});
  EXPECT_THROW(decoder.finish(), Error);  // no message_stop yet
  decoder.take({"message_stop", R"({"type":"message_stop"})"});
  decoder.finish();
  EXPECT_EQ(shown, "Hi");
  EXPECT_EQ(decoder.model(), "claude-x");
  EXPECT_EQ(decoder.usage().prompt_tokens, 120);
  EXPECT_EQ(decoder.usage().completion_tokens, 9);
  EXPECT_EQ(decoder.finish_reason(), "stop");

  detail::AnthropicStreamDecoder other(callbacks);
  try {
    other.take(
        {"error",
         R"({"type":"error","error":{"type":"invalid_request_error","message":"bad image"}})"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::server);
    EXPECT_NE(std::string(e.what()).find("bad image"), std::string::npos);
  }
  try {
    other.take({"content_block_delta", "{not json"});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::network);
  }
}

}  // namespace
}  // namespace glyph
