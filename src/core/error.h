// glyph::Error: the one error type of the library.
//
// Library functions throw Error with a code and a message a user can act on: which file, which
// key, which byte offset, which limit. The CLI prints "error: <message>" and exits non-zero; the
// server maps the code to an HTTP status and one JSON error shape.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace glyph {

enum class ErrorCode {
  invalid_argument,  // a caller passed a bad value (CLI flag, API field)
  invalid_config,    // a config key has a bad value or type
  invalid_input,     // the document or text cannot be read as what it claims to be
  unsupported,       // a format or feature we do not handle
  limit_exceeded,    // a size, count or time cap was hit
  not_found,         // a file, font, document, job or model that does not exist
  io,                // reading or writing a file failed
  network,           // connecting to or talking with a server failed (retryable)
  server,            // a server answered with an error
  timeout,           // a deadline passed
  cancelled,         // the caller cancelled
  internal,          // a bug: an invariant did not hold
};

// Stable lowercase name of a code ("invalid_config"), used in JSON error bodies.
std::string_view to_string(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace glyph
