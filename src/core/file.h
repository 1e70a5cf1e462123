// Whole-file reads and atomic writes, with errors that name the path.
#pragma once

#include <string>
#include <string_view>

namespace glyph {

// Reads a file whole into memory. Throws Error(not_found | io | invalid_argument) naming the path.
std::string read_file(const std::string& path);

// Writes bytes to path atomically (a temporary beside it, then rename). Throws Error(io).
void write_file(const std::string& path, std::string_view bytes);

}  // namespace glyph
