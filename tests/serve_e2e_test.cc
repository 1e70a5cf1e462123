// End-to-end tests of `glyph serve`: the real binary, started and killed as a process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file.h"
#include "serve/job_queue.h"
#include "support/fake_vlm_server.h"
#include "support/http_client.h"
#include "support/paths.h"
#include "support/run.h"
#include "support/server_process.h"

namespace glyph {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using test::http_request;
using test::ServerProcess;

json get_json(int port, const std::string& path, const std::vector<std::string>& headers = {}) {
  auto r = http_request(port, "GET", path, {}, headers);
  return r.body.empty() ? json() : json::parse(r.body);
}

// A text large enough that rendering it takes a while: the example stories repeated.
std::string long_text(std::size_t bytes) {
  std::string base = read_file(test::shared_dir() + "/data/examples/case2.txt");
  std::string text;
  while (text.size() < bytes) text += base;
  text.resize(bytes);
  return text;
}

TEST(serve_e2e, finished_jobs_are_deleted_after_keep_jobs) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--keep-jobs", "2s"});
  json body = {{"mode", "render"}, {"text", "A short document."}};
  auto queued = http_request(server.port(), "POST", "/v1/jobs", body.dump());
  ASSERT_EQ(queued.status, 202) << queued.body;
  std::string id = json::parse(queued.body)["id"].get<std::string>();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int status = 0;
  bool seen_done = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = http_request(server.port(), "GET", "/v1/jobs/" + id);
    status = r.status;
    if (status == 200 && json::parse(r.body)["state"] == "done") seen_done = true;
    if (status != 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(seen_done) << "the job finished and could be read before it was deleted";
  EXPECT_EQ(status, 404) << "deleted about 2 s after it ended";

  auto bad = test::run_command("timeout 10 " + test::binary_dir() + "/glyph serve --port 0 " +
                               "--data " + data + "2 --keep-jobs 7w");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output().find("--keep-jobs '7w'"), std::string::npos) << bad.output();
}

TEST(serve_e2e, kill_9_mid_job_then_restart_completes_once) {
  std::string data = test::scratch_dir() + "/data";
  std::string id;
  {
    ServerProcess server(data, {"--workers", "1", "--job-lease-ms", "600000"});
    json body = {{"mode", "render"}, {"text", long_text(3u << 19)}};
    auto queued = http_request(server.port(), "POST", "/v1/jobs", body.dump());
    ASSERT_EQ(queued.status, 202) << queued.body;
    id = json::parse(queued.body)["id"].get<std::string>();
    // Wait until a worker runs it, then kill the server without warning.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string state;
    while (std::chrono::steady_clock::now() < deadline) {
      state = get_json(server.port(), "/v1/jobs/" + id)["state"].get<std::string>();
      if (state != "queued") break;
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(state, "running") << "the job must still be running when the server is killed";
    server.kill9();
  }
  {
    serve::SqliteJobQueue q(data + "/queue.db");
    auto record = q.get(id);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->state, serve::JobState::running) << "killed mid-job: still marked running";
    EXPECT_FALSE(record->result);
  }
  // The restarted server takes the job again at once (its worker's process is gone; the
  // 10-minute lease has not expired) and completes it.
  ServerProcess server(data, {"--workers", "1", "--job-lease-ms", "600000"});
  json job;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    job = get_json(server.port(), "/v1/jobs/" + id);
    if (job["state"] == "done" || job["state"] == "failed") break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["attempts"], 2);
  EXPECT_GT(job["result"]["pages"].size(), 10u);
  serve::SqliteJobQueue q(data + "/queue.db");
  EXPECT_EQ(q.get(id)->result_writes, 1) << "the result is written exactly once";
  int claimed = 0, completed = 0;
  for (const auto& [attempt, event] : q.events(id)) {
    claimed += event == "claimed";
    completed += event == "completed";
  }
  EXPECT_EQ(claimed, 2);
  EXPECT_EQ(completed, 1);
}

// SIGTERM stops the server cleanly: the running job goes back to the queue without using up an
// attempt, and the next start completes it.
TEST(serve_e2e, sigterm_hands_a_running_job_back) {
  std::string data = test::scratch_dir() + "/data";
  std::string id;
  {
    ServerProcess server(data, {"--workers", "1"});
    json body = {{"mode", "render"}, {"text", long_text(3u << 19)}};
    auto queued = http_request(server.port(), "POST", "/v1/jobs", body.dump());
    ASSERT_EQ(queued.status, 202) << queued.body;
    id = json::parse(queued.body)["id"].get<std::string>();
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline &&
           get_json(server.port(), "/v1/jobs/" + id)["state"] == "queued")
      std::this_thread::sleep_for(5ms);
  }  // ~ServerProcess sends SIGTERM and waits
  serve::SqliteJobQueue q(data + "/queue.db");
  auto record = q.get(id);
  ASSERT_TRUE(record);
  ASSERT_NE(record->state, serve::JobState::done) << "the job must still run at SIGTERM";
  EXPECT_EQ(record->state, serve::JobState::queued);
  EXPECT_EQ(record->attempts, 0);
  ServerProcess server(data, {"--workers", "1"});
  auto deadline = std::chrono::steady_clock::now() + 60s;
  json job;
  while (std::chrono::steady_clock::now() < deadline) {
    job = get_json(server.port(), "/v1/jobs/" + id);
    if (job["state"] == "done") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(job["state"], "done") << job.dump();
  EXPECT_EQ(job["attempts"], 1);
}

// Two server processes on one data folder: every job runs once to completion, and no request
// of either sees a server error (SQLITE_BUSY would surface as one).
TEST(serve_e2e, two_servers_share_one_queue) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess a(data, {"--workers", "2"});
  ServerProcess b(data, {"--workers", "2"});
  std::vector<std::string> ids;
  for (int i = 0; i < 16; ++i) {
    json body = {{"mode", "render"},
                 {"text", "Job " + std::to_string(i) + ": a short text to render.\nSecond line."}};
    auto r = http_request(i % 2 ? a.port() : b.port(), "POST", "/v1/jobs", body.dump());
    ASSERT_EQ(r.status, 202) << r.body;
    ids.push_back(json::parse(r.body)["id"].get<std::string>());
  }
  auto deadline = std::chrono::steady_clock::now() + 60s;
  std::size_t done = 0;
  while (std::chrono::steady_clock::now() < deadline && done < ids.size()) {
    done = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto r = http_request(i % 2 ? b.port() : a.port(), "GET", "/v1/jobs/" + ids[i]);
      ASSERT_EQ(r.status, 200) << r.body;
      done += json::parse(r.body)["state"] == "done";
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(done, ids.size());
  serve::SqliteJobQueue q(data + "/queue.db");
  for (const auto& id : ids) {
    auto record = q.get(id);
    EXPECT_EQ(record->result_writes, 1) << id;
    EXPECT_EQ(record->attempts, 1) << id;
  }
}

TEST(serve_e2e, render_cache_pages_and_errors) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data);
  int port = server.port();
  json body = {{"text", read_file(test::shared_dir() + "/data/examples/case1.txt")},
               {"config", {{"preset", "en"}}}};
  auto first = http_request(port, "POST", "/v1/render?layout=true", body.dump());
  ASSERT_EQ(first.status, 200) << first.body;
  json d = json::parse(first.body);
  EXPECT_FALSE(d["cached"].get<bool>());
  EXPECT_EQ(d["pages"].size(), 2u);
  EXPECT_EQ(d["layout"]["pages"].size(), 2u) << "the layout is sent when asked for";
  EXPECT_GT(d["stats"]["text_tokens"].get<int>(), 3000);
  EXPECT_GT(d["stats"]["compression_ratio"].get<double>(), 2.0);
  auto again = json::parse(http_request(port, "POST", "/v1/render", body.dump()).body);
  EXPECT_TRUE(again["cached"].get<bool>()) << "the repeat is served from the cache";
  EXPECT_FALSE(again.contains("layout")) << "and only then";
  EXPECT_TRUE(again["stats"]["cached"].get<bool>());
  EXPECT_EQ(again["document_id"], d["document_id"]);
  body["config"]["font-size"] = 10;
  auto other = json::parse(http_request(port, "POST", "/v1/render", body.dump()).body);
  EXPECT_NE(other["document_id"], d["document_id"]) << "another config is another document";

  auto png = http_request(port, "GET", d["pages"][0]["url"].get<std::string>());
  EXPECT_EQ(png.status, 200);
  EXPECT_EQ(png.header("content-type"), "image/png");
  EXPECT_EQ(png.body.substr(0, 4), "\x89PNG");
  std::string id = d["document_id"];
  EXPECT_EQ(http_request(port, "GET", "/v1/documents/" + id + "/pages/3.png").status, 404);
  EXPECT_EQ(http_request(port, "GET", "/v1/documents/" + id).status, 200);

  auto expect_error = [&](const std::string& method, const std::string& path,
                          const std::string& payload, int status, const std::string& code) {
    auto r = http_request(port, method, path, payload);
    EXPECT_EQ(r.status, status) << method << " " << path << " " << payload << " → " << r.body;
    json e = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(e.is_object() && e.contains("error")) << r.body;
    EXPECT_EQ(e["error"]["code"], code) << r.body;
    EXPECT_FALSE(e["error"]["message"].get<std::string>().empty());
  };
  expect_error("POST", "/v1/render", "{not json", 400, "invalid_argument");
  expect_error("POST", "/v1/render", R"({"text":"a","x":1e999})", 400, "invalid_argument");
  expect_error("POST", "/v1/render", R"({"text":"a","colour":1})", 400, "invalid_argument");
  expect_error("POST", "/v1/render", R"({"text":"a","document_id":"x"})", 400, "invalid_argument");
  expect_error("POST", "/v1/render", R"({"text":"a","config":{"dpi":"high"}})", 400,
               "invalid_config");
  expect_error("POST", "/v1/render", R"({"text":"a","config":{"dpi":1200}})", 413,
               "limit_exceeded");
  expect_error("POST", "/v1/render", R"({"text":"a","config":{"font-path":"/etc/passwd"}})", 400,
               "invalid_config");
  expect_error("POST", "/v1/render", R"({"text":"a","config":{"preset":"klingon"}})", 400,
               "invalid_argument");
  expect_error("POST", "/v1/ask", R"({"text":"a","mode":"poem"})", 400, "invalid_argument");
  expect_error("POST", "/v1/ask", R"({"text":"a","mode":"qa"})", 400, "invalid_argument");
  expect_error("POST", "/v1/ask",
               R"({"document_id":"0123456789abcdef0123456789abcdef","mode":"summary"})", 404,
               "not_found");
  expect_error("GET", "/v1/jobs/abcdef", "", 404, "not_found");
  expect_error("DELETE", "/v1/jobs/abcdef", "", 404, "not_found");
  expect_error("GET", "/v1/jobs?state=sleeping", "", 400, "invalid_argument");

  // A job listed, then cancelled.
  auto queued =
      http_request(port, "POST", "/v1/jobs", json{{"document_id", id}, {"mode", "render"}}.dump());
  ASSERT_EQ(queued.status, 202) << queued.body;
  std::string job = json::parse(queued.body)["id"];
  auto list = json::parse(http_request(port, "GET", "/v1/jobs").body);
  ASSERT_FALSE(list["jobs"].empty());
  EXPECT_EQ(list["jobs"][0]["id"], job);
  auto cancel = http_request(port, "DELETE", "/v1/jobs/" + job);
  EXPECT_EQ(cancel.status, 200);
}

// What the web page relies on: renders without the layout when it says so, the installed fonts,
// jobs that keep their document, file name and request, extraction without fields, and the
// stages of a streamed ask.
TEST(serve_e2e, what_the_web_page_asks_for) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--workers", "1"});
  int port = server.port();
  json body = {{"text", "Invoice number: 4711\nDate: 12 March 2024\nAmount due: 1,250.00 EUR\n"}};
  auto lean = http_request(port, "POST", "/v1/render?layout=0", body.dump());
  ASSERT_EQ(lean.status, 200) << lean.body;
  json d = json::parse(lean.body);
  EXPECT_FALSE(d.contains("layout"));
  EXPECT_EQ(d["pages"].size(), 1u);
  std::string id = d["document_id"];
  EXPECT_TRUE(json::parse(http_request(port, "POST", "/v1/render?layout=1", body.dump()).body)
                  .contains("layout"));
  EXPECT_FALSE(get_json(port, "/v1/documents/" + id + "?layout=false").contains("layout"));
  EXPECT_EQ(http_request(port, "POST", "/v1/render?layout=some", body.dump()).status, 400);

  json fonts = get_json(port, "/v1/fonts")["fonts"];
  ASSERT_TRUE(fonts.is_array());
  bool dejavu = false;
  for (const auto& f : fonts) {
    std::string path = f["path"];
    EXPECT_EQ(path.rfind("/usr/", 0), 0u) << path;
    dejavu = dejavu || path.ends_with("/DejaVuSans.ttf");
  }
  EXPECT_TRUE(dejavu) << fonts.dump();

  // A job keeps what it was asked for; extraction needs no fields.
  json ask = {{"document_id", id}, {"mode", "extract"}, {"file_name", "Facture été.txt"}};
  auto queued = http_request(port, "POST", "/v1/jobs", ask.dump());
  ASSERT_EQ(queued.status, 202) << queued.body;
  json job = json::parse(queued.body);
  EXPECT_EQ(job["document_id"], id);
  EXPECT_EQ(job["file_name"], "Facture été.txt");
  EXPECT_EQ(job["mode"], "extract");
  json listed = get_json(port, "/v1/jobs?limit=1")["jobs"][0];
  EXPECT_EQ(listed["file_name"], job["file_name"]);
  EXPECT_EQ(listed["document_id"], id);
  json done;
  for (int i = 0; i < 600; ++i) {
    done = get_json(port, "/v1/jobs/" + job["id"].get<std::string>());
    if (done["state"] != "queued" && done["state"] != "running") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(done["state"], "done") << done.dump();
  EXPECT_EQ(done["result"]["document_id"], id);
  EXPECT_NE(done["result"]["answer"].get<std::string>().find("12 March 2024"), std::string::npos);
  // Not UTF-8: refused, never stored (it would make every later answer about the job invalid).
  std::string bad_name =
      R"({"document_id":")" + id + R"(","mode":"extract","file_name":")" + "\xff\xfe" + R"("})";
  EXPECT_EQ(http_request(port, "POST", "/v1/jobs", bad_name).status, 400);
  ask["file_name"] = 7;
  EXPECT_EQ(http_request(port, "POST", "/v1/jobs", ask.dump()).status, 400);
  // An uploaded file's job is labelled with its name, without the client's folders.
  auto [type, upload] = test::multipart_body(
      {{"mode", "render"}}, "file", "C:\\Users\\me\\R\u00e9sum\u00e9.txt", "A short text.");
  auto uploaded = http_request(port, "POST", "/v1/jobs", upload, {"Content-Type: " + type});
  ASSERT_EQ(uploaded.status, 202) << uploaded.body;
  EXPECT_EQ(json::parse(uploaded.body)["file_name"], "R\u00e9sum\u00e9.txt");

  // A streamed ask says which stage it is in.
  json streamed = {{"document_id", id}, {"mode", "summary"}, {"stream", true}};
  auto events = http_request(port, "POST", "/v1/ask", streamed.dump());
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_NE(
      events.body.find("event: progress\ndata: {\"done\":1,\"stage\":\"reading\",\"total\":1}"),
      std::string::npos)
      << events.body;
  EXPECT_LT(events.body.find("event: progress"), events.body.find("event: done"));
}

// The VLM path: /v1/ask streams reasoning, content, usage and done as SSE events, in order, from
// an OpenAI-compatible server (the tests' fake; it records what the service sent).
TEST(serve_e2e, ask_streams_events_from_a_vlm_server) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "She borrowed a diamond necklace from Madame Forestier.";
  fake_options.answer.reasoning = "The question asks what was borrowed.";
  fake_options.answer.chunk_delay_ms = 5;
  fake_options.usage = test::UsagePolicy::always;
  test::FakeVlmServer fake(fake_options);
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--url", fake.url(), "--model", fake.model()});
  json body = {{"text", read_file(test::shared_dir() + "/data/examples/case1.txt")},
               {"mode", "qa"},
               {"question", "What did Mathilde borrow from Madame Forestier?"},
               {"stream", true}};
  auto r = http_request(server.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  std::vector<std::string> events;
  std::string content, reasoning;
  json done;
  for (const auto& [event, data] : test::sse_events(r.body)) {
    json payload = json::parse(data);
    if (events.empty() || events.back() != event) events.push_back(event);
    if (event == "content") content += payload["text"].get<std::string>();
    if (event == "reasoning") reasoning += payload["text"].get<std::string>();
    if (event == "done") done = payload;
  }
  // "progress": the page images being prepared for the model (the web page shows it).
  EXPECT_EQ(events, (std::vector<std::string>{"document", "progress", "reasoning", "content",
                                              "usage", "done"}));
  EXPECT_EQ(content, fake_options.answer.content);
  EXPECT_EQ(reasoning, fake_options.answer.reasoning);
  EXPECT_EQ(done["answer"], fake_options.answer.content);
  EXPECT_EQ(done["reasoning"], fake_options.answer.reasoning);
  ASSERT_FALSE(done["citations"].empty());
  const auto& cite = done["citations"][0];
  // The citation points at words of the answer in the document.
  std::string quote = cite["quote"];
  EXPECT_TRUE(quote.find("necklace") != std::string::npos ||
              quote.find("Forestier") != std::string::npos ||
              quote.find("diamond") != std::string::npos)
      << cite.dump();
  EXPECT_GT(cite["char_end"].get<int>(), cite["char_start"].get<int>());
  EXPECT_GT(cite["box_px"][2].get<double>(), cite["box_px"][0].get<double>());
  EXPECT_GT(done["usage"]["prompt_tokens"].get<int>(), 0);
  // The service sent the pages inline, then the question.
  ASSERT_EQ(fake.chat_requests(), 1);
  auto sent = fake.requests().back();
  ASSERT_EQ(sent.images.size(), 2u);
  EXPECT_TRUE(sent.images[0].valid_png);
  EXPECT_EQ(sent.part_kinds.back(), "text");
  EXPECT_NE(sent.text.find("What did Mathilde borrow"), std::string::npos);
}

// A model whose chat template opened <think> in the prompt: the answer streams, then a replace
// event moves it into the reasoning when "</think>" comes (docs/api.md).
TEST(serve_e2e, ask_sends_replace_when_a_model_closes_an_unopened_think) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.reasoning = "The question asks what was borrowed.";
  fake_options.answer.reasoning_style = test::ReasoningStyle::think_close_only;
  test::FakeVlmServer fake(fake_options);
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--url", fake.url(), "--model", fake.model()});
  json body = {{"text", "Mathilde borrowed a diamond necklace from Madame Forestier."},
               {"mode", "qa"},
               {"question", "What did Mathilde borrow?"},
               {"stream", true}};
  auto r = http_request(server.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  std::string content, reasoning;
  int replaces = 0;
  bool content_before_replace = false;
  json done;
  for (const auto& [event, data] : test::sse_events(r.body)) {
    json payload = json::parse(data);
    if (event == "content") content += payload["text"].get<std::string>();
    if (event == "reasoning") reasoning += payload["text"].get<std::string>();
    if (event == "replace") {
      ++replaces;
      content_before_replace = !content.empty();
      content = payload["content"].get<std::string>();
      reasoning = payload["reasoning"].get<std::string>();
    }
    if (event == "done") done = payload;
  }
  EXPECT_EQ(replaces, 1) << r.body;
  EXPECT_TRUE(content_before_replace) << r.body;
  EXPECT_EQ(content, fake_options.answer.content);
  EXPECT_EQ(reasoning, fake_options.answer.reasoning);
  EXPECT_EQ(done["answer"], fake_options.answer.content);
  EXPECT_EQ(done["reasoning"], fake_options.answer.reasoning);
}

// A model in a repetition loop: the answer is the retry's and says what happened.
TEST(serve_e2e, ask_reports_a_repetition_loop_the_reader_stopped) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.loop = " A diamond necklace.";
  test::FakeVlmServer fake(fake_options);
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--url", fake.url(), "--model", fake.model()});
  json body = {{"text", "Mathilde borrowed a diamond necklace from Madame Forestier."},
               {"mode", "qa"},
               {"question", "What did Mathilde borrow?"}};
  auto r = http_request(server.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json answer = json::parse(r.body);
  EXPECT_EQ(answer["answer"], "A diamond necklace.");
  EXPECT_EQ(answer["finish_reason"], "stop");
  ASSERT_TRUE(answer.contains("repetition")) << r.body;
  EXPECT_EQ(answer["repetition"]["unit"].get<std::string>().size(), 20u);
  EXPECT_EQ(answer["repetition"]["retry_field"], "repetition_penalty");
  EXPECT_DOUBLE_EQ(answer["repetition"]["retry_value"].get<double>(), 1.1);
  EXPECT_EQ(fake.chat_requests(), 2);
}

// --api anthropic: the service reads pages through the Messages API (image blocks, thinking kept
// apart from the answer).
TEST(serve_e2e, ask_through_the_anthropic_messages_api) {
  test::FakeServerOptions fake_options;
  fake_options.answer.content = "A diamond necklace.";
  fake_options.answer.reasoning = "The first line says it.";
  test::FakeVlmServer fake(fake_options);
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--api", "anthropic", "--url", fake.url(), "--model", fake.model()});
  json body = {{"text", "Mathilde borrowed a diamond necklace from Madame Forestier."},
               {"mode", "qa"},
               {"question", "What did Mathilde borrow?"}};
  auto r = http_request(server.port(), "POST", "/v1/ask", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json answer = json::parse(r.body);
  EXPECT_EQ(answer["answer"], "A diamond necklace.");
  EXPECT_EQ(answer["reasoning"], "The first line says it.");
  const auto requests = fake.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().path, "/v1/messages");
  ASSERT_EQ(requests.back().images.size(), 1u);
  EXPECT_TRUE(requests.back().images[0].valid_png);
  EXPECT_NE(requests.back().text.find("What did Mathilde borrow"), std::string::npos);
}

TEST(serve_e2e, api_key_required_on_every_route_but_health) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--api-key", "k3y-for-tests"});
  std::string page = "/v1/documents/0123456789abcdef0123456789abcdef/pages/1.png";
  std::vector<std::pair<std::string, std::string>> routes = {{"GET", "/"},
                                                             {"GET", "/app.js"},
                                                             {"GET", "/style.css"},
                                                             {"GET", "/v1/presets"},
                                                             {"POST", "/v1/render"},
                                                             {"GET", page},
                                                             {"POST", "/v1/ask"},
                                                             {"POST", "/v1/jobs"},
                                                             {"GET", "/v1/jobs"},
                                                             {"GET", "/v1/jobs/abc"},
                                                             {"DELETE", "/v1/jobs/abc"},
                                                             {"GET", "/v1/nothing-here"}};
  std::string body = json{{"text", "hello"}, {"mode", "summary"}}.dump();
  for (const auto& [method, path] : routes) {
    auto r = http_request(server.port(), method, path, method == "POST" ? body : "");
    EXPECT_EQ(r.status, 401) << method << " " << path << ": " << r.body;
    auto wrong = http_request(server.port(), method, path, method == "POST" ? body : "",
                              {"Authorization: Bearer k3y-for-tesTs"});
    EXPECT_EQ(wrong.status, 401) << method << " " << path;
  }
  EXPECT_EQ(http_request(server.port(), "GET", "/health").status, 200);
  auto with_key = http_request(server.port(), "GET", "/v1/presets", {},
                               {"Authorization: Bearer k3y-for-tests"});
  EXPECT_EQ(with_key.status, 200);
}

TEST(serve_e2e, upload_names_never_become_paths) {
  std::string root = test::scratch_dir();
  std::string data = root + "/data";
  ServerProcess server(data);
  std::string text = "A short story about a necklace.\nIt was lost.\n";
  std::vector<std::string> names = {"../../escape.txt",   "..\\..\\win.txt",
                                    "a\r\nX-Evil: 1.txt", std::string("nul\0byte.txt", 12),
                                    "/etc/passwd",        "....//....//x.md"};
  for (const auto& name : names) {
    auto [type, body] = test::multipart_body({{"config", "{}"}}, "file", name, text);
    auto r = http_request(server.port(), "POST", "/v1/render", body, {"Content-Type: " + type});
    EXPECT_TRUE(r.status == 200 || r.status == 400) << name << ": " << r.status << " " << r.body;
    EXPECT_EQ(r.header("x-evil"), "");
  }
  // Nothing was written beside the data folder, and inside it only the queue and documents.
  for (const auto& entry : fs::directory_iterator(root))
    EXPECT_EQ(entry.path().filename(), "data") << entry.path();
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    auto name = entry.path().filename().string();
    EXPECT_EQ(name.find("escape"), std::string::npos) << entry.path();
    EXPECT_EQ(name.find("passwd"), std::string::npos) << entry.path();
    EXPECT_EQ(name.find("win"), std::string::npos) << entry.path();
  }
  EXPECT_FALSE(fs::exists(fs::path(root).parent_path() / "escape.txt"));
}

TEST(serve_e2e, oversized_upload_refused_and_memory_flat) {
  std::string data = test::scratch_dir() + "/data";
  ServerProcess server(data, {"--max-upload-mb", "1"});
  std::string raw =
      "POST /v1/render HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(16 << 20) + "\r\n\r\n";
  raw.append(16 << 20, ' ');
  test::send_raw(server.port(), raw);
  long before = test::resident_kib(server.pid());
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    auto r = test::send_raw(server.port(), raw);
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_NE(r.body.find("limit_exceeded"), std::string::npos);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  long after = test::resident_kib(server.pid());
  EXPECT_LT(after - before, 4 * 1024) << before << " KiB → " << after << " KiB";
}

}  // namespace
}  // namespace glyph
