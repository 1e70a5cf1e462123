// Whole-file reads and atomic writes, with errors that name the path.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

namespace glyph {

// Reads a file whole into memory. Throws Error(not_found | io | invalid_argument) naming the path.
std::string read_file(const std::string& path);

// Writes bytes to path atomically (a temporary beside it, then rename). Throws Error(io).
void write_file(const std::string& path, std::string_view bytes);

// A file that lines are appended to (created when missing), each append one write(2) loop under
// a lock, so that records of several threads never interleave and a crash loses at most the line
// being written (results.jsonl of `glyph eval`, the history of `glyph search`). Throws Error(io)
// naming `what` and the path.
class AppendFile {
 public:
  AppendFile(const std::string& path, std::string what);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  void append(std::string_view bytes);

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  std::mutex mutex_;
};

}  // namespace glyph
