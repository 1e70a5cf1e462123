#include "hand_over.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "commands.h"

namespace glyph::cli {

namespace {

std::string program_folder() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  const std::string path(buf, static_cast<size_t>(n));
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Makes `bytes` the process's standard input (an anonymous in-memory file).
bool replace_stdin(const std::string& bytes) {
  const int fd = memfd_create("glyph-input", 0);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  const bool ok = lseek(fd, 0, SEEK_SET) == 0 && dup2(fd, STDIN_FILENO) == STDIN_FILENO;
  close(fd);
  return ok;
}

}  // namespace

bool wants_full_tool(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help-all") return true;
    if (arg.empty() || arg[0] == '-') continue;
    return *full_only_description(arg) != '\0';  // the first word is the command
  }
  return false;
}

int hand_over(char** argv, const std::string& stdin_bytes) {
  const std::string full = program_folder() + "/glyph-full";
  if (access(full.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "error: this needs glyph-full (OCR, PDF, DOCX, HTTP), which is not next to glyph: "
                 "%s: %s; scripts/build.sh builds both\n",
                 full.c_str(), std::strerror(errno));
    return 1;
  }
  std::fflush(stdout);
  if (std::feof(stdin) && !replace_stdin(stdin_bytes)) {
    std::fprintf(stderr, "error: cannot pass standard input on to %s: %s\n", full.c_str(),
                 std::strerror(errno));
    return 1;
  }
  execv(full.c_str(), argv);
  std::fprintf(stderr, "error: cannot run %s: %s\n", full.c_str(), std::strerror(errno));
  return 1;
}

}  // namespace glyph::cli
