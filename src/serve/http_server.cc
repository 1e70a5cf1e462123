// The only file that includes httplib.h (a large header; keeping it here keeps builds short).
#include "serve/http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>

namespace glyph::serve {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// The Content-Length a request announces (0 when absent or not a number).
std::uint64_t declared_length(const httplib::Request& req) {
  return std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
}

// The code named in the error body for statuses httplib produces on its own.
std::string_view code_for_status(int status) {
  switch (status) {
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "timeout";
    case 413: return "limit_exceeded";
    case 414: return "limit_exceeded";
    case 415: return "unsupported";
    case 416: return "invalid_argument";
    case 431: return "limit_exceeded";
    default: return status >= 500 ? "internal" : "invalid_argument";
  }
}

std::string_view message_for_status(int status) {
  switch (status) {
    case 400: return "the request is malformed (request line, headers, body or multipart framing)";
    case 404: return "no such route";
    case 413: return "the request body exceeds the upload limit";
    case 414: return "the request URI is too long (limit 8192 bytes)";
    case 415: return "unsupported content encoding";
    case 416: return "bad Range header";
    default: return "request failed";
  }
}

void apply(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name.c_str(), value);
  if (from.stream) {
    auto stream = from.stream;
    to.set_chunked_content_provider(from.content_type,
                                    [stream](std::size_t, httplib::DataSink& sink) {
                                      StreamWriter write = [&sink](std::string_view chunk) {
                                        if (!sink.is_writable()) return false;
                                        return sink.write(chunk.data(), chunk.size());
                                      };
                                      stream(write);
                                      sink.done();
                                      return true;
                                    });
  } else {
    to.set_content(from.body, from.content_type.c_str());
  }
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

std::string HttpRequest::query_value(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

const UploadPart* HttpRequest::part(std::string_view name) const {
  for (const auto& p : parts)
    if (p.name == name) return &p;
  return nullptr;
}

std::string error_body(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":{\"code\":";
  append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, message);
  out += "}}";
  return out;
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::invalid_config:
    case ErrorCode::invalid_input: return 400;
    case ErrorCode::unsupported: return 415;
    case ErrorCode::limit_exceeded: return 413;
    case ErrorCode::not_found: return 404;
    case ErrorCode::network:
    case ErrorCode::server: return 502;
    case ErrorCode::timeout: return 504;
    case ErrorCode::cancelled: return 409;
    case ErrorCode::io:
    case ErrorCode::internal: return 500;
  }
  return 500;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the longer length whatever the contents, so timing reveals only lengths.
  std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

struct HttpServer::Impl {
  HttpLimits limits;
  httplib::Server server;
  std::string api_key;
  std::vector<std::string> exempt_paths;

  static constexpr const char* kCookieName = "glyph_api_key";

  bool authorized(const httplib::Request& req) const {
    if (api_key.empty()) return true;
    for (const auto& p : exempt_paths)
      if (req.path == p) return true;
    std::string presented;
    auto auth = req.get_header_value("Authorization");
    if (auth.size() > 7 && iequals(std::string_view(auth).substr(0, 7), "bearer "))
      presented = auth.substr(7);
    else if (req.has_header("X-API-Key"))
      presented = req.get_header_value("X-API-Key");
    else {
      auto cookies = req.get_header_value("Cookie");
      std::string_view c = cookies;
      std::string needle = std::string(kCookieName) + "=";
      auto pos = c.find(needle);
      if (pos != std::string_view::npos && (pos == 0 || c[pos - 1] == ' ' || c[pos - 1] == ';')) {
        auto rest = c.substr(pos + needle.size());
        presented = std::string(rest.substr(0, rest.find(';')));
      }
    }
    return constant_time_equal(presented, api_key);
  }

  HttpRequest to_request(const httplib::Request& req) const {
    HttpRequest out;
    out.method = req.method;
    out.path = req.path;
    for (std::size_t i = 1; i < req.matches.size(); ++i)
      out.captures.push_back(req.matches[i].str());
    for (const auto& [k, v] : req.params) out.query.emplace_back(k, v);
    for (const auto& [k, v] : req.headers) out.headers.emplace_back(k, v);
    out.content_type = req.get_header_value("Content-Type");
    return out;
  }

  static void run_handler(const HttpHandler& handler, const HttpRequest& request,
                          httplib::Response& res) {
    HttpResponse response;
    try {
      response = handler(request);
    } catch (const Error& e) {
      response = error_response(http_status_for(e.code()), to_string(e.code()), e.what());
    } catch (const std::exception& e) {
      response = error_response(500, "internal", e.what());
    } catch (...) {
      response = error_response(500, "internal", "unknown failure");
    }
    apply(response, res);
  }

  // Reads the body (or multipart parts) through httplib's content reader, counting bytes and
  // parts as they arrive. Returns an error response when a limit or the framing failed.
  std::optional<HttpResponse> read_body(const httplib::Request& req,
                                        const httplib::ContentReader& reader,
                                        HttpRequest& out) const {
    std::size_t total = 0;
    bool too_big = false, too_many_parts = false, too_slow = false;
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.request_timeout_ms);
    auto count = [&](std::size_t n) {
      total += n;
      if (total > limits.max_body_bytes) too_big = true;
      if (std::chrono::steady_clock::now() > deadline) too_slow = true;
      return !too_big && !too_slow;
    };
    bool ok;
    if (req.is_multipart_form_data()) {
      ok = reader(
          [&](const httplib::MultipartFormData& header) {
            if (out.parts.size() >= limits.max_parts) {
              too_many_parts = true;
              return false;
            }
            out.parts.push_back({header.name, header.filename, header.content_type, {}});
            return true;
          },
          [&](const char* data, std::size_t n) {
            if (!count(n) || out.parts.empty()) return false;
            out.parts.back().content.append(data, n);
            return true;
          });
    } else {
      ok = reader([&](const char* data, std::size_t n) {
        if (!count(n)) return false;
        out.body.append(data, n);
        return true;
      });
    }
    auto limit_mb = std::to_string(limits.max_body_bytes / (1024 * 1024));
    if (too_big ||
        (!ok && req.has_header("Content-Length") && declared_length(req) > limits.max_body_bytes))
      return error_response(413, "limit_exceeded",
                            "the request body exceeds the upload limit of " +
                                std::to_string(limits.max_body_bytes) + " bytes (" + limit_mb +
                                " MB)");
    if (too_many_parts)
      return error_response(
          400, "limit_exceeded",
          "too many multipart parts (limit " + std::to_string(limits.max_parts) + ")");
    if (too_slow)
      return error_response(408, "timeout",
                            "the request body took longer than " +
                                std::to_string(limits.request_timeout_ms) + " ms to arrive");
    if (!ok)
      return error_response(400, "invalid_argument",
                            req.is_multipart_form_data()
                                ? "malformed multipart/form-data body"
                                : "the request body could not be read (framing or encoding)");
    return std::nullopt;
  }
};

HttpServer::HttpServer(HttpLimits limits, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  auto& s = impl_->server;
  int pool = threads > 0 ? threads : 8;
  s.new_task_queue = [pool] { return new httplib::ThreadPool(static_cast<std::size_t>(pool)); };
  s.set_payload_max_length(limits.max_body_bytes);
  s.set_read_timeout(limits.read_timeout_ms / 1000, (limits.read_timeout_ms % 1000) * 1000);
  s.set_write_timeout(limits.write_timeout_ms / 1000, (limits.write_timeout_ms % 1000) * 1000);
  s.set_keep_alive_timeout(std::max(1, limits.idle_timeout_ms / 1000));
  s.set_keep_alive_max_count(100);
  s.set_tcp_nodelay(true);  // responses go out in two writes; do not wait for the ACK between

  Impl* impl = impl_.get();
  s.set_pre_routing_handler([impl](const httplib::Request& req, httplib::Response& res) {
    // httplib adds four headers of its own (REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR, LOCAL_PORT).
    std::size_t client_headers = req.headers.size() >= 4 ? req.headers.size() - 4 : 0;
    if (client_headers > impl->limits.max_headers) {
      apply(error_response(431, "limit_exceeded",
                           "too many request headers (" + std::to_string(client_headers) +
                               ", limit " + std::to_string(impl->limits.max_headers) + ")"),
            res);
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!impl->api_key.empty() && req.method == "GET" && req.path == "/" &&
        req.has_param("api_key")) {
      // The web page's sign-in: trade the key in the URL for a same-site cookie, then drop it
      // from the address bar.
      if (!constant_time_equal(req.get_param_value("api_key"), impl->api_key)) {
        apply(error_response(401, "unauthorized", "wrong API key"), res);
        return httplib::Server::HandlerResponse::Handled;
      }
      res.status = 303;
      res.set_header("Location", "/");
      res.set_header("Set-Cookie", std::string(Impl::kCookieName) + "=" + impl->api_key +
                                       "; Path=/; HttpOnly; SameSite=Strict");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!impl->authorized(req)) {
      apply(error_response(401, "unauthorized",
                           "this server requires an API key: send \"Authorization: Bearer KEY\" "
                           "or \"X-API-Key: KEY\""),
            res);
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Refuse before the client sends the body when it asks first.
  s.set_expect_100_continue_handler([impl](const httplib::Request& req, httplib::Response& res) {
    if (!impl->authorized(req)) {
      apply(error_response(401, "unauthorized", "this server requires an API key"), res);
      return 401;
    }
    if (req.has_header("Content-Length") && declared_length(req) > impl->limits.max_body_bytes) {
      apply(error_response(413, "limit_exceeded",
                           "the request body exceeds the upload limit of " +
                               std::to_string(impl->limits.max_body_bytes) + " bytes"),
            res);
      return 413;
    }
    return 100;
  });
  s.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_)
          return httplib::Server::HandlerResponse::Unhandled;
        res.set_content(error_body(code_for_status(res.status), message_for_status(res.status)),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string message = "unknown failure";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          message = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(error_body("internal", message), "application/json");
      });
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route(const std::string& method, const std::string& pattern, HttpHandler handler) {
  auto& s = impl_->server;
  Impl* impl = impl_.get();
  if (method == "GET") {
    s.Get(pattern, [impl, handler](const httplib::Request& req, httplib::Response& res) {
      Impl::run_handler(handler, impl->to_request(req), res);
    });
  } else if (method == "DELETE") {
    s.Delete(pattern, [impl, handler](const httplib::Request& req, httplib::Response& res) {
      Impl::run_handler(handler, impl->to_request(req), res);
    });
  } else if (method == "POST") {
    s.Post(pattern, [impl, handler](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
      HttpRequest request = impl->to_request(req);
      std::optional<HttpResponse> failed;
      try {
        failed = impl->read_body(req, reader, request);
      } catch (const std::exception& e) {
        failed = error_response(400, "invalid_argument",
                                std::string("the request body could not be read: ") + e.what());
      }
      if (failed) {
        apply(*failed, res);
        res.set_header("Connection", "close");
        return;
      }
      Impl::run_handler(handler, request, res);
    });
  } else {
    throw Error(ErrorCode::internal, "HttpServer::route: unsupported method " + method);
  }
}

void HttpServer::require_api_key(std::string key, std::vector<std::string> exempt_paths) {
  impl_->api_key = std::move(key);
  impl_->exempt_paths = std::move(exempt_paths);
}

int HttpServer::bind(const std::string& host, int port) {
  auto& s = impl_->server;
  if (port == 0) {
    int bound = s.bind_to_any_port(host);
    if (bound <= 0) throw Error(ErrorCode::io, "cannot bind " + host + " to a free port");
    return bound;
  }
  if (!s.bind_to_port(host, port))
    throw Error(ErrorCode::io, "cannot bind " + host + ":" + std::to_string(port) +
                                   " (in use, or not an address of this machine)");
  return port;
}

void HttpServer::listen() {
  impl_->server.listen_after_bind();
}

void HttpServer::stop() {
  if (impl_) impl_->server.stop();
}

}  // namespace glyph::serve
