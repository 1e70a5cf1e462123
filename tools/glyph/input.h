// INPUT for every command that reads a document: the flags that say how to read it (--format,
// --encoding, --password, --pdf-pages, --docx-headers) and the one function that reads it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "ingest/ingest.h"

namespace glyph::cli {

struct InputFlags {
  std::string format;
  std::string encoding;
  std::string password;
  std::string pdf_pages = "form-feed";
  bool docx_headers_footers = false;
};

// Adds the input flags to a command.
void add_input_flags(CLI::App* command, InputFlags& flags);

// Reads INPUT ("-" = standard input) in any supported format. Prints each warning on stderr as
// "warning: ..."; with verbose, also the format, encoding, pages and size read.
Document read_input(const std::string& path, const InputFlags& flags, bool verbose = false);

}  // namespace glyph::cli
