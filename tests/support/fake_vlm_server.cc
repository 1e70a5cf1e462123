#include "support/fake_vlm_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

#include "core/error.h"
#include "image/image.h"
#include "read/vlm_reader.h"
#include "support/fake_ocr_answer.h"

namespace glyph::test {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 512u << 20;

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

std::string default_model(FakeServerMode mode) {
  switch (mode) {
    case FakeServerMode::vllm: return "zai-org/Glyph";
    case FakeServerMode::sglang: return "zai-org/Glyph";
    case FakeServerMode::llamacpp: return "glyph-q4_k_m.gguf";
    case FakeServerMode::ollama: return "qwen2.5vl:7b";
    case FakeServerMode::openai: return "gpt-4o-mini";
  }
  return "fake";
}

std::string owner_of(FakeServerMode mode) {
  switch (mode) {
    case FakeServerMode::vllm: return "vllm";
    case FakeServerMode::sglang: return "sglang";
    case FakeServerMode::llamacpp: return "llamacpp";
    case FakeServerMode::ollama: return "library";
    case FakeServerMode::openai: return "system";
  }
  return "fake";
}

// The error body each server family writes.
std::string error_body(FakeServerMode mode, int status, const std::string& message,
                       const std::string& type) {
  if (mode == FakeServerMode::sglang) {
    return json{{"object", "error"},
                {"message", message},
                {"type", type},
                {"param", nullptr},
                {"code", status}}
        .dump();
  }
  json error = {{"message", message}, {"type", type}, {"param", nullptr}};
  error["code"] = mode == FakeServerMode::ollama || mode == FakeServerMode::openai ? json(nullptr)
                                                                                   : json(status);
  return json{{"error", error}}.dump();
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

// Closes with an RST instead of a FIN: what a crashed server or a proxy dropping the line does.
void reset_connection(int fd) {
  linger option{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
}

void send_response(int fd, int status, std::string_view content_type, std::string_view body,
                   const std::string& extra_headers = "") {
  std::string head =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  head += "Content-Type: " + std::string(content_type) + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  head += "Connection: close\r\n" + extra_headers + "\r\n";
  send_all(fd, head + std::string(body));
}

// Pieces of about `size` bytes that never cut a UTF-8 character.
std::vector<std::string> split_text(const std::string& text, int size) {
  std::vector<std::string> pieces;
  std::size_t start = 0;
  const std::size_t step = static_cast<std::size_t>(std::max(1, size));
  while (start < text.size()) {
    std::size_t end = std::min(text.size(), start + step);
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

int count_prompt_tokens(const RecordedRequest& request) {
  int tokens = 8 + static_cast<int>(request.text.size() / 4);
  for (const RecordedImage& image : request.images) {
    tokens += ((image.width_px + 27) / 28) * ((image.height_px + 27) / 28);
  }
  return tokens;
}

enum class EventKind { role, reasoning, content, finish, usage, done };
struct StreamEvent {
  EventKind kind;
  std::string line;  // a whole SSE event without its final blank line, e.g. "data: {...}"
};

}  // namespace

FakeServerMode parse_fake_server_mode(const std::string& name) {
  if (name == "vllm") return FakeServerMode::vllm;
  if (name == "sglang") return FakeServerMode::sglang;
  if (name == "llamacpp" || name == "llama.cpp") return FakeServerMode::llamacpp;
  if (name == "ollama") return FakeServerMode::ollama;
  if (name == "openai") return FakeServerMode::openai;
  throw std::invalid_argument("unknown fake server mode \"" + name +
                              "\" (expected vllm, sglang, llamacpp, ollama or openai)");
}

FakeVlmServer::FakeVlmServer(FakeServerOptions options) : options_(std::move(options)) {
  model_ = options_.model.empty() ? default_model(options_.mode) : options_.model;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    throw std::runtime_error(std::string("fake server: socket: ") + std::strerror(errno));
  int yes = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    std::string reason = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error(
        "fake server: cannot listen on 127.0.0.1:" + std::to_string(options_.port) + ": " + reason);
  }
  socklen_t length = sizeof address;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeVlmServer::~FakeVlmServer() {
  stop();
}

std::string FakeVlmServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void FakeVlmServer::push_fault(FakeFault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

std::optional<FakeFault> FakeVlmServer::take_fault() {
  std::lock_guard lock(mutex_);
  if (faults_.empty()) return std::nullopt;
  FakeFault fault = std::move(faults_.front());
  faults_.erase(faults_.begin());
  return fault;
}

void FakeVlmServer::set_answer(FakeAnswer answer) {
  std::lock_guard lock(mutex_);
  options_.answer = std::move(answer);
}

void FakeVlmServer::set_loading(bool loading) {
  std::lock_guard lock(mutex_);
  options_.loading = loading;
}

std::vector<RecordedRequest> FakeVlmServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

int FakeVlmServer::chat_requests() const {
  std::lock_guard lock(mutex_);
  int count = 0;
  for (const RecordedRequest& request : requests_) count += request.path == "/v1/chat/completions";
  return count;
}

bool FakeVlmServer::wait_for_disconnects(int count, std::chrono::milliseconds timeout) const {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (client_disconnects_.load() < count) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void FakeVlmServer::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (Worker& worker : workers) worker.thread.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void FakeVlmServer::accept_loop() {
  while (!stopping_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::vector<Worker> finished;
    std::lock_guard lock(mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        finished.push_back(std::move(*it));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::thread([this, fd, done] {
                                serve(fd);
                                ::close(fd);
                                done->store(true);
                              }),
                              done});
    for (Worker& worker : finished) worker.thread.join();  // they have returned: no wait
  }
}

// Everything one connection needs: reading the request, writing an SSE stream, noticing that the
// client went away.
struct FakeVlmServer::Connection {
  FakeVlmServer& server;
  int fd;
  bool chunked = true;
  bool byte_by_byte = false;
  bool crlf = false;
  bool client_gone = false;

  bool write(std::string_view bytes) {
    if (client_gone) return false;
    auto write_piece = [&](std::string_view piece) {
      std::string framed = chunked ? to_hex(piece.size()) + "\r\n" + std::string(piece) + "\r\n"
                                   : std::string(piece);
      return send_all(fd, framed);
    };
    bool ok = true;
    if (byte_by_byte) {
      for (std::size_t i = 0; ok && i < bytes.size(); ++i) ok = write_piece(bytes.substr(i, 1));
    } else {
      ok = write_piece(bytes);
    }
    if (!ok) note_gone();
    return ok;
  }

  bool event(const std::string& line) {
    std::string eol = crlf ? "\r\n" : "\n";
    return write(line + eol + eol);
  }

  void end_body() {
    if (!client_gone && chunked) send_all(fd, "0\r\n\r\n");
  }

  void note_gone() {
    if (!client_gone) ++server.client_disconnects_;
    client_gone = true;
  }

  // Sends nothing more; returns when the client closes its side or the server stops.
  void wait_for_client_to_leave() {
    char buffer[4096];
    while (!server.stopping_) {
      pollfd waiting{fd, POLLIN | POLLRDHUP, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) {
        note_gone();
        return;
      }
    }
  }

  bool pause(int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      if (server.stopping_) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 10)));
    }
    return true;
  }

  static std::string to_hex(std::size_t value) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%zx", value);
    return buffer;
  }
};

void FakeVlmServer::serve(int fd) {
  Connection connection{*this, fd};
  // Read the request head, then the body by Content-Length.
  std::string data;
  std::size_t head_end = std::string::npos;
  auto idle_since = std::chrono::steady_clock::now();
  auto receive_more = [&]() -> bool {
    char buffer[65536];
    while (!stopping_) {
      pollfd waiting{fd, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) {
        if (std::chrono::steady_clock::now() - idle_since > std::chrono::seconds(10)) return false;
        continue;
      }
      ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(got));
      idle_since = std::chrono::steady_clock::now();
      return true;
    }
    return false;
  };
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > kMaxHeaderBytes || !receive_more()) return;
  }
  RecordedRequest request;
  {
    std::string_view head(data.data(), head_end);
    std::size_t line_end = head.find("\r\n");
    std::string_view request_line = head.substr(0, line_end);
    std::size_t first_space = request_line.find(' ');
    std::size_t second_space = request_line.find(' ', first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos) return;
    request.method = std::string(request_line.substr(0, first_space));
    request.path =
        std::string(request_line.substr(first_space + 1, second_space - first_space - 1));
    std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (at < head.size()) {
      std::size_t end = head.find("\r\n", at);
      if (end == std::string_view::npos) end = head.size();
      std::string_view line = head.substr(at, end - at);
      if (auto colon = line.find(':'); colon != std::string_view::npos) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        request.headers[lowercase(std::string(line.substr(0, colon)))] = std::string(value);
      }
      at = end + 2;
    }
  }
  std::size_t content_length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) {
    content_length = std::strtoull(it->second.c_str(), nullptr, 10);
  } else if (request.headers.count("transfer-encoding")) {
    send_response(
        fd, 411, "application/json",
        error_body(options_.mode, 411, "Content-Length required", "invalid_request_error"));
    return;
  }
  if (content_length > kMaxBodyBytes) {
    send_response(
        fd, 413, "application/json",
        error_body(options_.mode, 413, "request body too large", "invalid_request_error"));
    return;
  }
  while (data.size() < head_end + 4 + content_length) {
    if (!receive_more()) return;
  }
  request.body = data.substr(head_end + 4, content_length);

  FakeServerOptions options;
  {
    std::lock_guard lock(mutex_);
    options = options_;
  }
  const FakeServerMode mode = options.mode;
  auto record = [&] {
    if (!options.record_requests) return;
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  };
  auto authorized = [&] {
    if (options.api_key.empty()) return true;
    auto it = request.headers.find("authorization");
    auto key = request.headers.find("x-api-key");  // the Anthropic API's header
    return (it != request.headers.end() && it->second == "Bearer " + options.api_key) ||
           (key != request.headers.end() && key->second == options.api_key);
  };
  auto refuse_unauthorized = [&] {
    send_response(fd, 401, "application/json",
                  error_body(mode, 401, "Incorrect API key provided.", "invalid_request_error"));
  };

  if (request.method == "GET" && request.path == "/health") {
    record();
    if (mode == FakeServerMode::ollama || mode == FakeServerMode::openai) {
      send_response(fd, 404, "text/plain", "404 page not found");
    } else if (options.loading) {
      send_response(fd, 503, "application/json",
                    error_body(mode, 503, "Loading model", "unavailable_error"));
    } else {
      send_response(fd, 200, "application/json",
                    mode == FakeServerMode::llamacpp ? R"({"status":"ok"})" : "");
    }
    return;
  }
  if (request.method == "GET" && request.path == "/") {
    record();
    if (mode == FakeServerMode::ollama)
      send_response(fd, 200, "text/plain; charset=utf-8", "Ollama is running");
    else
      send_response(fd, 404, "application/json",
                    error_body(mode, 404, "Not Found", "not_found_error"));
    return;
  }
  if (request.method == "GET" && request.path == "/v1/models") {
    record();
    if (!authorized()) return refuse_unauthorized();
    json entry = {
        {"id", model_}, {"object", "model"}, {"created", 1760000000}, {"owned_by", owner_of(mode)}};
    if (options.max_context_tokens > 0) entry["max_model_len"] = options.max_context_tokens;
    json models = {{"object", "list"}, {"data", json::array({entry})}};
    send_response(fd, 200, "application/json", models.dump());
    return;
  }
  if (request.path == "/v1/messages" && request.method == "POST")
    return serve_anthropic(connection, request, options);
  if (request.path != "/v1/chat/completions" || request.method != "POST") {
    record();
    send_response(fd, 404, "application/json",
                  error_body(mode, 404, "Not Found: " + request.path, "not_found_error"));
    return;
  }

  // A chat request: parse and record what was sent before judging it.
  json body = json::parse(request.body, nullptr, false);
  std::string refusal;
  std::vector<PageImage> decoded_images;  // kept for the ocr answers
  if (!body.is_object()) {
    refusal = "request body is not a JSON object";
  } else if (body.contains("messages") && body["messages"].is_array()) {
    for (const json& message : body["messages"]) {
      if (!message.is_object() || message.value("role", "") != "user" ||
          !message.contains("content"))
        continue;
      const json& content = message["content"];
      if (content.is_string()) {
        request.part_kinds.push_back("text");
        request.text += content.get<std::string>();
        continue;
      }
      if (!content.is_array()) continue;
      for (const json& part : content) {
        std::string type = part.is_object() ? part.value("type", "") : "";
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          request.part_kinds.push_back("text");
          request.text += part["text"].get<std::string>();
        } else if (type == "image_url") {
          request.part_kinds.push_back("image");
          std::string url;
          if (part.contains("image_url")) {
            const json& image_url = part["image_url"];
            if (image_url.is_string())
              url = image_url.get<std::string>();
            else if (image_url.is_object() && image_url.contains("url") &&
                     image_url["url"].is_string())
              url = image_url["url"].get<std::string>();
          }
          RecordedImage image;
          const std::string marker = ";base64,";
          auto at = url.find(marker);
          if (!url.starts_with("data:") || at == std::string::npos) {
            image.error = "not a base64 data URL: " + url.substr(0, 60);
            refusal = "image URLs are not fetched by this server; send data URLs (got " +
                      url.substr(0, 60) + ")";
          } else {
            image.media_type = url.substr(5, at - 5);
            try {
              PageImage decoded =
                  decode_png(base64_decode(std::string_view(url).substr(at + marker.size())));
              image.valid_png = true;
              image.width_px = decoded.width_px;
              image.height_px = decoded.height_px;
              image.channels = decoded.channels;
              if (options.ocr) decoded_images.push_back(std::move(decoded));
            } catch (const std::exception& error) {
              image.error = error.what();
              refusal = std::string("cannot decode image: ") + error.what();
            }
          }
          request.images.push_back(std::move(image));
        } else {
          request.part_kinds.push_back(type.empty() ? "?" : type);
        }
      }
    }
  } else {
    refusal = "'messages' is a required property";
  }
  request.prompt_tokens = count_prompt_tokens(request);
  request.headers.erase("host");
  record();

  if (!authorized()) return refuse_unauthorized();
  if (!refusal.empty()) {
    send_response(fd, 400, "application/json", error_body(mode, 400, refusal, "BadRequestError"));
    return;
  }
  std::string requested_model =
      body.contains("model") && body["model"].is_string() ? body["model"].get<std::string>() : "";
  if (mode != FakeServerMode::llamacpp && requested_model != model_) {
    std::string message = mode == FakeServerMode::ollama
                              ? "model \"" + requested_model + "\" not found, try pulling it first"
                              : "The model `" + requested_model + "` does not exist.";
    send_response(fd, 404, "application/json", error_body(mode, 404, message, "NotFoundError"));
    return;
  }
  if (options.max_images > 0 && static_cast<int>(request.images.size()) > options.max_images) {
    send_response(fd, 400, "application/json",
                  error_body(mode, 400,
                             "At most " + std::to_string(options.max_images) +
                                 " image(s) may be provided in one request.",
                             "BadRequestError"));
    return;
  }
  if (options.max_context_tokens > 0 && request.prompt_tokens > options.max_context_tokens) {
    std::string message =
        mode == FakeServerMode::llamacpp
            ? "the request exceeds the available context size, try increasing it"
            : "This model's maximum context length is " +
                  std::to_string(options.max_context_tokens) + " tokens. However, you requested " +
                  std::to_string(request.prompt_tokens) +
                  " tokens in the messages, Please reduce the length of the messages.";
    send_response(fd, 400, "application/json", error_body(mode, 400, message, "BadRequestError"));
    return;
  }

  std::optional<FakeFault> fault = take_fault();
  if (fault && fault->kind == FaultKind::http_status) {
    std::string extra;
    if (!fault->retry_after.empty()) extra += "Retry-After: " + fault->retry_after + "\r\n";
    if (!fault->retry_after_ms.empty())
      extra += "retry-after-ms: " + fault->retry_after_ms + "\r\n";
    send_response(fd, fault->status, "application/json",
                  error_body(mode, fault->status, fault->message, "server_error"), extra);
    return;
  }
  if (fault && fault->kind == FaultKind::reset_before_answer) {
    reset_connection(fd);
    return;
  }
  if (fault && fault->kind == FaultKind::never_answer) {
    connection.wait_for_client_to_leave();
    return;
  }

  // The answer, as the family of servers would stream it.
  const FakeAnswer& answer = options.answer;
  ReasoningStyle style = answer.reasoning_style;
  if (style == ReasoningStyle::mode_default) {
    style = mode == FakeServerMode::sglang || mode == FakeServerMode::llamacpp
                ? ReasoningStyle::reasoning_content
            : mode == FakeServerMode::openai ? ReasoningStyle::think_tags
                                             : ReasoningStyle::reasoning;
  }
  std::string content_text = answer.content;
  std::string reasoning_text = answer.reasoning;
  const std::string stream_head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: "
      "no-cache\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  bool head_sent = false;
  if (options.ocr) {
    const bool streaming = body.value("stream", false) && !options.ignore_stream;
    try {
      OcrAnswerOptions ocr;
      ocr.language = options.ocr_language;
      if (streaming) {
        // Reading many images takes minutes on a busy machine: the stream starts at once and a
        // comment every 10 s keeps the client's first-byte and idle timeouts from firing (as a
        // busy server's keep-alives do), so that a slow read is not retried and read twice.
        if (!send_all(fd, stream_head)) return connection.note_gone();
        head_sent = true;
        auto reading = std::async(
            std::launch::async, [&] { return fake_ocr_answer(request.text, decoded_images, ocr); });
        while (reading.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
          connection.event(": reading the images");
        content_text = reading.get();
        if (connection.client_gone) return;
      } else {
        content_text = fake_ocr_answer(request.text, decoded_images, ocr);
      }
    } catch (const std::exception& error) {
      const std::string payload =
          error_body(mode, 500, std::string("ocr failed: ") + error.what(), "InternalServerError");
      if (head_sent) {
        connection.event("data: " + payload);
        connection.end_body();
      } else {
        send_response(fd, 500, "application/json", payload);
      }
      return;
    }
  }
  std::string finish_reason = answer.finish_reason;
  const bool penalized = body.contains("repetition_penalty") || body.contains("repeat_penalty") ||
                         body.contains("frequency_penalty");
  if (!answer.loop.empty() && (!penalized || answer.loop_despite_penalty)) {
    for (int i = 0; i < answer.loop_repeats; ++i) content_text += answer.loop;
    finish_reason = "length";
  }
  if (style == ReasoningStyle::think_tags && !reasoning_text.empty()) {
    content_text = "<think>" + reasoning_text + "</think>" + content_text;
    reasoning_text.clear();
  }
  if (style == ReasoningStyle::think_close_only) {
    content_text = reasoning_text + "</think>" + content_text;
    reasoning_text.clear();
  }
  const int completion_tokens =
      1 + static_cast<int>((answer.content.size() + answer.reasoning.size()) / 4);
  json usage = {{"prompt_tokens", request.prompt_tokens},
                {"completion_tokens", completion_tokens},
                {"total_tokens", request.prompt_tokens + completion_tokens}};
  const bool stream = body.value("stream", false) && !options.ignore_stream;
  const bool usage_asked = body.contains("stream_options") && body["stream_options"].is_object() &&
                           body["stream_options"].value("include_usage", false);
  const std::string id = "chatcmpl-fake" + std::to_string(requests().size());

  if (!stream) {
    json message = {{"role", "assistant"}, {"content", content_text}};
    if (!reasoning_text.empty())
      message[style == ReasoningStyle::reasoning ? "reasoning" : "reasoning_content"] =
          reasoning_text;
    json whole = {
        {"id", id},
        {"object", "chat.completion"},
        {"created", 1760000000},
        {"model", model_},
        {"choices",
         json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish_reason}}})}};
    if (options.usage != UsagePolicy::never) whole["usage"] = usage;
    send_response(fd, 200, "application/json", whole.dump());
    return;
  }

  auto chunk = [&](json delta, json finish_reason) {
    json choice = {{"index", 0},
                   {"delta", std::move(delta)},
                   {"logprobs", nullptr},
                   {"finish_reason", std::move(finish_reason)}};
    return json{{"id", id},
                {"object", "chat.completion.chunk"},
                {"created", 1760000000},
                {"model", model_},
                {"choices", json::array({choice})}};
  };
  std::vector<StreamEvent> events;
  events.push_back({EventKind::role,
                    "data: " + chunk({{"role", "assistant"}, {"content", ""}}, nullptr).dump()});
  const char* reasoning_field =
      style == ReasoningStyle::reasoning ? "reasoning" : "reasoning_content";
  for (const std::string& piece : split_text(reasoning_text, answer.chunk_bytes)) {
    events.push_back(
        {EventKind::reasoning, "data: " + chunk({{reasoning_field, piece}}, nullptr).dump()});
  }
  for (const std::string& piece : split_text(content_text, answer.chunk_bytes)) {
    events.push_back({EventKind::content, "data: " + chunk({{"content", piece}}, nullptr).dump()});
  }
  events.push_back({EventKind::finish, "data: " + chunk(json::object(), finish_reason).dump()});
  if (options.usage == UsagePolicy::always ||
      (options.usage == UsagePolicy::when_asked && usage_asked)) {
    json last = {{"id", id},        {"object", "chat.completion.chunk"}, {"created", 1760000000},
                 {"model", model_}, {"choices", json::array()},          {"usage", usage}};
    events.push_back({EventKind::usage, "data: " + last.dump()});
  }
  events.push_back({EventKind::done, "data: [DONE]"});

  if (!head_sent && !send_all(fd, stream_head)) return connection.note_gone();
  connection.byte_by_byte = options.byte_by_byte;
  connection.crlf = options.crlf;

  for (std::size_t i = 0; i < events.size(); ++i) {
    if (fault && static_cast<int>(i) == fault->after_events) {
      switch (fault->kind) {
        case FaultKind::reset_mid_stream: reset_connection(fd); return;
        case FaultKind::stall_mid_stream: connection.wait_for_client_to_leave(); return;
        case FaultKind::error_event: {
          std::string payload =
              error_body(mode == FakeServerMode::sglang ? FakeServerMode::vllm : mode,
                         fault->status, fault->message, "server_error");
          connection.event((mode == FakeServerMode::llamacpp ? "error: " : "data: ") + payload);
          if (fault->with_done) connection.event("data: [DONE]");
          connection.end_body();
          return;
        }
        case FaultKind::non_json_line:
          if (!connection.event("data: {\"choices\": [ this is not json")) return;
          break;
        default: break;
      }
    }
    if (fault && fault->kind == FaultKind::no_done &&
        (events[i].kind == EventKind::finish || events[i].kind == EventKind::usage ||
         events[i].kind == EventKind::done)) {
      continue;
    }
    if (i > 0 && answer.chunk_delay_ms > 0 && !connection.pause(answer.chunk_delay_ms)) return;
    if (!connection.event(events[i].line)) return;
  }
  connection.end_body();
}

// The Anthropic Messages API (POST /v1/messages), as api.anthropic.com speaks it: x-api-key and
// anthropic-version headers, image blocks with a base64 source, max_tokens required, the answer
// streamed as message_start, ping, content blocks (a thinking block when the answer has
// reasoning, then the text), message_delta (stop_reason, usage) and message_stop; errors as
// {"type": "error", "error": {"type", "message"}} (529 overloaded_error). Faults apply as to chat
// requests: http_status, reset_before_answer, never_answer, reset_mid_stream, stall_mid_stream,
// error_event (an "event: error" line), no_done (no message_delta and message_stop).
void FakeVlmServer::serve_anthropic(Connection& connection, RecordedRequest& request,
                                    const FakeServerOptions& options) {
  const int fd = connection.fd;
  auto error_type_of = [](int status) -> std::string {
    switch (status) {
      case 400: return "invalid_request_error";
      case 401: return "authentication_error";
      case 403: return "permission_error";
      case 404: return "not_found_error";
      case 413: return "request_too_large";
      case 429: return "rate_limit_error";
      case 529: return "overloaded_error";
      default: return "api_error";
    }
  };
  auto error_json = [&](int status, const std::string& message) {
    return json{{"type", "error"},
                {"error", {{"type", error_type_of(status)}, {"message", message}}}}
        .dump();
  };
  auto refuse = [&](int status, const std::string& message, const std::string& extra = "") {
    send_response(fd, status, "application/json", error_json(status, message), extra);
  };

  json body = json::parse(request.body, nullptr, false);
  std::string refusal;
  if (!body.is_object()) {
    refusal = "request body is not a JSON object";
  } else if (!body.contains("messages") || !body["messages"].is_array()) {
    refusal = "messages: Field required";
  } else {
    for (const json& message : body["messages"]) {
      if (!message.is_object() || message.value("role", "") != "user") continue;
      const json& content = message.contains("content") ? message["content"] : json();
      if (content.is_string()) {
        request.part_kinds.push_back("text");
        request.text += content.get<std::string>();
        continue;
      }
      if (!content.is_array()) continue;
      for (const json& part : content) {
        const std::string type = part.is_object() ? part.value("type", "") : "";
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          request.part_kinds.push_back("text");
          request.text += part["text"].get<std::string>();
        } else if (type == "image") {
          request.part_kinds.push_back("image");
          RecordedImage image;
          const json& source = part.contains("source") ? part["source"] : json();
          if (!source.is_object() || source.value("type", "") != "base64" ||
              !source.contains("data") || !source["data"].is_string()) {
            image.error = "not a base64 image source";
            refusal = "messages.0.content: image source must be base64 here";
          } else {
            image.media_type = source.value("media_type", "");
            try {
              PageImage decoded = decode_png(base64_decode(source["data"].get<std::string>()));
              image.valid_png = true;
              image.width_px = decoded.width_px;
              image.height_px = decoded.height_px;
              image.channels = decoded.channels;
            } catch (const std::exception& error) {
              image.error = error.what();
              refusal = std::string("Could not process image: ") + error.what();
            }
          }
          request.images.push_back(std::move(image));
        } else {
          request.part_kinds.push_back(type.empty() ? "?" : type);
        }
      }
    }
    if (refusal.empty() && (!body.contains("max_tokens") || !body["max_tokens"].is_number()))
      refusal = "max_tokens: Field required";
  }
  request.prompt_tokens = count_prompt_tokens(request);
  request.headers.erase("host");
  if (options.record_requests) {
    std::lock_guard lock(mutex_);
    requests_.push_back(request);
  }
  if (!options.api_key.empty()) {
    auto key = request.headers.find("x-api-key");
    if (key == request.headers.end() || key->second != options.api_key)
      return refuse(401, "invalid x-api-key");
  }
  if (!request.headers.count("anthropic-version"))
    return refuse(400, "anthropic-version: header is required");
  if (!refusal.empty()) return refuse(400, refusal);
  const std::string requested_model = body.value("model", "");
  if (requested_model != model_) return refuse(404, "model: " + requested_model);
  if (options.max_context_tokens > 0 && request.prompt_tokens > options.max_context_tokens)
    return refuse(400, "prompt is too long: " + std::to_string(request.prompt_tokens) +
                           " tokens > " + std::to_string(options.max_context_tokens) + " maximum");

  std::optional<FakeFault> fault = take_fault();
  if (fault && fault->kind == FaultKind::http_status) {
    std::string extra;
    if (!fault->retry_after.empty()) extra += "retry-after: " + fault->retry_after + "\r\n";
    return refuse(fault->status, fault->message, extra);
  }
  if (fault && fault->kind == FaultKind::reset_before_answer) return reset_connection(fd);
  if (fault && fault->kind == FaultKind::never_answer) return connection.wait_for_client_to_leave();

  const FakeAnswer& answer = options.answer;
  std::string text = answer.content;
  std::string stop_reason = answer.finish_reason == "length" ? "max_tokens" : "end_turn";
  if (!answer.loop.empty()) {  // the API has no repetition penalty: a loop always loops
    for (int i = 0; i < answer.loop_repeats; ++i) text += answer.loop;
    stop_reason = "max_tokens";
  }
  const int output_tokens = 1 + static_cast<int>((text.size() + answer.reasoning.size()) / 4);
  const std::string id = "msg_fake" + std::to_string(requests().size());
  json usage = {{"input_tokens", request.prompt_tokens},
                {"cache_creation_input_tokens", 0},
                {"cache_read_input_tokens", 0},
                {"output_tokens", output_tokens}};

  if (!body.value("stream", false) || options.ignore_stream) {
    json content = json::array();
    if (!answer.reasoning.empty())
      content.push_back(
          {{"type", "thinking"}, {"thinking", answer.reasoning}, {"signature", "c2lnbmF0dXJl"}});
    content.push_back({{"type", "text"}, {"text", text}});
    json message = {{"id", id},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", model_},
                    {"content", content},
                    {"stop_reason", stop_reason},
                    {"stop_sequence", nullptr},
                    {"usage", usage}};
    send_response(fd, 200, "application/json", message.dump());
    return;
  }

  std::vector<std::string> events;  // whole SSE events without the final blank line
  auto add = [&](const std::string& type, const json& data) {
    events.push_back("event: " + type + "\ndata: " + data.dump());
  };
  json start_usage = usage;
  start_usage["output_tokens"] = 1;
  add("message_start", {{"type", "message_start"},
                        {"message",
                         {{"id", id},
                          {"type", "message"},
                          {"role", "assistant"},
                          {"model", model_},
                          {"content", json::array()},
                          {"stop_reason", nullptr},
                          {"stop_sequence", nullptr},
                          {"usage", start_usage}}}});
  add("ping", {{"type", "ping"}});
  int index = 0;
  if (!answer.reasoning.empty()) {
    add("content_block_start", {{"type", "content_block_start"},
                                {"index", index},
                                {"content_block", {{"type", "thinking"}, {"thinking", ""}}}});
    for (const std::string& piece : split_text(answer.reasoning, answer.chunk_bytes))
      add("content_block_delta", {{"type", "content_block_delta"},
                                  {"index", index},
                                  {"delta", {{"type", "thinking_delta"}, {"thinking", piece}}}});
    add("content_block_delta",
        {{"type", "content_block_delta"},
         {"index", index},
         {"delta", {{"type", "signature_delta"}, {"signature", "c2lnbmF0dXJl"}}}});
    add("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
    ++index;
  }
  add("content_block_start", {{"type", "content_block_start"},
                              {"index", index},
                              {"content_block", {{"type", "text"}, {"text", ""}}}});
  for (const std::string& piece : split_text(text, answer.chunk_bytes))
    add("content_block_delta", {{"type", "content_block_delta"},
                                {"index", index},
                                {"delta", {{"type", "text_delta"}, {"text", piece}}}});
  add("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
  const std::size_t tail = events.size();  // message_delta and message_stop follow
  add("message_delta", {{"type", "message_delta"},
                        {"delta", {{"stop_reason", stop_reason}, {"stop_sequence", nullptr}}},
                        {"usage", {{"output_tokens", output_tokens}}}});
  add("message_stop", {{"type", "message_stop"}});

  connection.crlf = options.crlf;
  connection.byte_by_byte = options.byte_by_byte;
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: "
      "no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  if (!send_all(fd, head)) return connection.note_gone();
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (fault && static_cast<int>(i) == fault->after_events) {
      switch (fault->kind) {
        case FaultKind::reset_mid_stream: return reset_connection(fd);
        case FaultKind::stall_mid_stream: return connection.wait_for_client_to_leave();
        case FaultKind::error_event:
          connection.event(
              "event: error\ndata: " +
              json{{"type", "error"},
                   {"error", {{"type", error_type_of(fault->status)}, {"message", fault->message}}}}
                  .dump());
          return connection.end_body();
        case FaultKind::non_json_line:
          if (!connection.event("event: content_block_delta\ndata: {not json")) return;
          break;
        default: break;
      }
    }
    if (fault && fault->kind == FaultKind::no_done && i >= tail) break;
    if (i > 0 && answer.chunk_delay_ms > 0 && !connection.pause(answer.chunk_delay_ms)) return;
    if (!connection.event(events[i])) return;
  }
  connection.end_body();
}

VlmReaderOptions fast_reader_options(const FakeVlmServer& server) {
  VlmReaderOptions options;
  options.base_url = server.url();
  options.connect_timeout_ms = 2'000;
  options.first_byte_timeout_ms = 5'000;
  options.idle_timeout_ms = 2'000;
  options.total_timeout_ms = 20'000;
  options.max_retries = 2;
  options.backoff_initial_ms = 10;
  options.backoff_max_ms = 50;
  return options;
}

}  // namespace glyph::test
