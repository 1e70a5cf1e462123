// How glyph hands work to glyph-full (see commands.h): the commands of kFullOnlyCommands, and
// documents that need poppler or libzip (PDF, DOCX).
#pragma once

#include <string>

namespace glyph::cli {

// Thrown where the lean program meets work only glyph-full does. Not a std::exception, so that no
// handler on the way turns it into an error message; main() catches it and hands over.
struct NeedsFullTool {
  std::string input_bytes;  // the document, in case it was read from standard input
};

// True when argv asks for a glyph-full-only command (or --help-all, which describes them).
bool wants_full_tool(int argc, char** argv);

// Replaces this process with glyph-full (the same folder as this program) and the same arguments.
// When standard input was read to its end (input "-"), its bytes, `stdin_bytes`, become
// glyph-full's standard input again. Returns only on failure, with the exit code after printing
// why.
int hand_over(char** argv, const std::string& stdin_bytes);

}  // namespace glyph::cli
