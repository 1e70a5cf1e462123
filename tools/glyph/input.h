// INPUT for every command that reads a document: the flags that say how to read it (--format,
// --encoding, --password, --pdf-pages, --docx-headers) and the one function that reads it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "config/config.h"
#include "ingest/ingest.h"

namespace glyph::cli {

struct InputFlags {
  std::string format;
  std::string encoding;
  std::string password;
  std::string pdf_pages = "form-feed";
  bool docx_headers_footers = false;
  std::string reflow;  // "", "auto", "on", "off": overrides the config's "reflow"
};

// Adds the input flags to a command; with_reflow adds --reflow (commands that render).
void add_input_flags(CLI::App* command, InputFlags& flags, bool with_reflow = true);

// Sets config.reflow from --reflow when it was given.
void apply_reflow_flag(const InputFlags& flags, RenderConfig& config);

// Reads INPUT ("-" = standard input) in any supported format. Prints each warning on stderr as
// "warning: ..."; with verbose, also the format, encoding, pages and size read.
Document read_input(const std::string& path, const InputFlags& flags, bool verbose = false);

}  // namespace glyph::cli
