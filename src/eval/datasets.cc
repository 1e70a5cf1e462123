// The user-supplied suites: LongBench JSONL as published, MRCR JSONL, QA records for RULER's qa.
//
// The LongBench prompts are the benchmark's: the Glyph release's versions for page images (the
// context "is shown in the images"; the question follows the images as text) and LongBench's own
// for the text-only baseline. They are kept word for word (typos included) so that scores are
// comparable with published ones.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/eval.h"

namespace glyph::eval {
namespace {

using nlohmann::json;

struct LongBenchDataset {
  std::string_view name;
  Metric metric;
  int max_answer_tokens;
  std::string_view image_prompt;  // {input}
  std::string_view text_prompt;   // {context}, {input}
};

const std::vector<LongBenchDataset>& longbench_datasets() {
  static const std::vector<LongBenchDataset> kDatasets = {
      {"narrativeqa", Metric::qa_f1, 128,
       "You are given a story, which can be either a novel or a movie script, and a question. "
       "Answer the question asconcisely as you can, using a single phrase if possible. Do not "
       "provide any explanation.\n\nStory is shown in the images.\n\nNow, answer the question "
       "based on the story asconcisely as you can, using a single phrase if possible. Do not "
       "provide any explanation.\n\nQuestion: {input}\n\nAnswer:",
       "You are given a story, which can be either a novel or a movie script, and a question. "
       "Answer the question asconcisely as you can, using a single phrase if possible. Do not "
       "provide any explanation.\n\nStory: {context}\n\nNow, answer the question based on the "
       "story asconcisely as you can, using a single phrase if possible. Do not provide any "
       "explanation.\n\nQuestion: {input}\n\nAnswer:"},
      {"qasper", Metric::qa_f1, 128,
       "You are given a scientific article and a question. Answer the question as concisely as "
       "you can, using a single phrase or sentence if possible. If the question cannot be "
       "answered based on the information in the article, write \"unanswerable\". If the "
       "question is a yes/no question, answer \"yes\", \"no\", or \"unanswerable\". Do not "
       "provide any explanation.\n\nArticle is shown in the images.\n\n Answer the question "
       "based on the above article as concisely as you can, using a single phrase or sentence if "
       "possible. If the question cannot be answered based on the information in the article, "
       "write \"unanswerable\". If the question is a yes/no question, answer \"yes\", \"no\", or "
       "\"unanswerable\". Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:",
       "You are given a scientific article and a question. Answer the question as concisely as "
       "you can, using a single phrase or sentence if possible. If the question cannot be "
       "answered based on the information in the article, write \"unanswerable\". If the "
       "question is a yes/no question, answer \"yes\", \"no\", or \"unanswerable\". Do not "
       "provide any explanation.\n\nArticle: {context}\n\n Answer the question based on the "
       "above article as concisely as you can, using a single phrase or sentence if possible. If "
       "the question cannot be answered based on the information in the article, write "
       "\"unanswerable\". If the question is a yes/no question, answer \"yes\", \"no\", or "
       "\"unanswerable\". Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:"},
      {"multifieldqa_en", Metric::qa_f1, 64,
       "Read the text and answer in the images briefly.\n\nNow, answer the following question "
       "based on the above text, only give me the answer and do not output any other "
       "words.\n\nQuestion: {input}\nAnswer:",
       "Read the following text and answer briefly.\n\n{context}\n\nNow, answer the following "
       "question based on the above text, only give me the answer and do not output any other "
       "words.\n\nQuestion: {input}\nAnswer:"},
      {"multifieldqa_zh", Metric::qa_f1_zh, 64,
       "阅读图中文字并用中文简短回答。请基于图中的文章回答下面的问题，只告诉我答案，不要输出任何其"
       "他字词。\n\n问题：{input}\n回答：",
       "阅读以下文字并用中文简短回答：\n\n{context}\n\n现在请基于上面的文章回答下面的问题，只告诉我"
       "答案，不要输出任何其他字词。\n\n问题：{input}\n回答："},
      {"hotpotqa", Metric::qa_f1, 32,
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nQuestion: {input}\nAnswer:",
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the "
       "question based on the given passages. Only give me the answer and do not output any "
       "other words.\n\nQuestion: {input}\nAnswer:"},
      {"2wikimqa", Metric::qa_f1, 32,
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nQuestion: {input}\nAnswer:",
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the "
       "question based on the given passages. Only give me the answer and do not output any "
       "other words.\n\nQuestion: {input}\nAnswer:"},
      {"musique", Metric::qa_f1, 32,
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nQuestion: {input}\nAnswer:",
       "Answer the question based on the given passages. Only give me the answer and do not "
       "output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the "
       "question based on the given passages. Only give me the answer and do not output any "
       "other words.\n\nQuestion: {input}\nAnswer:"},
      {"dureader", Metric::rouge_zh, 128, "请基于图中的文章回答下述问题。\n\n问题：{input}\n回答：",
       "请基于给定的文章回答下述问题。\n\n文章：{context}"
       "\n\n请基于上述文章回答下面的问题。\n\n问题："
       "{input}\n回答："},
      {"gov_report", Metric::rouge, 512,
       "You are given a report by a government agency. Write a one-page summary of the "
       "report.\n\nReport is shown in images.\n\nNow, write a one-page summary of the "
       "report.\n\nSummary:",
       "You are given a report by a government agency. Write a one-page summary of the "
       "report.\n\nReport:\n{context}\n\nNow, write a one-page summary of the report.\n\nSummary:"},
      {"qmsum", Metric::rouge, 512,
       "You are given a meeting transcript and a query containing a question or instruction. "
       "Answer the query in one or more sentences.\n\nTranscript is shown in images.\n\nNow, "
       "answer the query based on the meeting transcript in one or more sentences.\n\nQuery: "
       "{input}\nAnswer:",
       "You are given a meeting transcript and a query containing a question or instruction. "
       "Answer the query in one or more sentences.\n\nTranscript:\n{context}\n\nNow, answer the "
       "query based on the above meeting transcript in one or more sentences.\n\nQuery: "
       "{input}\nAnswer:"},
      {"multi_news", Metric::rouge, 512,
       "You are given several news passages in the images. Write a one-page summary of all news. "
       "\n\nNow, write a one-page summary of all the news.\n\nSummary:",
       "You are given several news passages. Write a one-page summary of all news. "
       "\n\nNews:\n{context}\n\nNow, write a one-page summary of all the news.\n\nSummary:"},
      {"vcsum", Metric::rouge_zh, 512,
       "图中有一段会议记录，请你阅读后，写一段总结，总结会议的内容。\n会议总结：",
       "下面有一段会议记录，请你阅读后，写一段总结，总结会议的内容。\n会议记录：\n{context}\n\n会议"
       "总结："},
      {"trec", Metric::classification, 64,
       "Please determine the type of the question below. Some examples of questions are shown in "
       "the images.\n\n{input}",
       "Please determine the type of the question below. Here are some examples of "
       "questions.\n\n{context}\n{input}"},
      {"triviaqa", Metric::qa_f1, 32,
       "Answer the question based on the given passage. Only give me the answer and do not "
       "output any other words. Some examples are shown in the images.\n\n{input}",
       "Answer the question based on the given passage. Only give me the answer and do not "
       "output any other words. The following are some examples.\n\n{context}\n\n{input}"},
      {"samsum", Metric::rouge, 128,
       "Summarize the dialogue into a few short sentences. Some examples are shown in the "
       "images.\n\n{input}",
       "Summarize the dialogue into a few short sentences. The following are some "
       "examples.\n\n{context}\n\n{input}"},
      {"lsht", Metric::classification, 64, "请判断给定新闻的类别，图中是一些例子。\n\n{input}",
       "请判断给定新闻的类别，下面是一些例子。\n\n{context}\n{input}"},
      {"passage_count", Metric::count, 32,
       "There are some paragraphs sourced from Wikipedia in the images. Some of them may be "
       "duplicates. Please carefully read these paragraphs and determine how many unique "
       "paragraphs there are after removing duplicates. In other words, how many non-repeating "
       "paragraphs are there in total?\n\nPlease enter the final count of unique paragraphs "
       "after removing duplicates. The output format should only contain the number, such as 1, "
       "2, 3, and so on.\n\nThe final answer is: ",
       "There are some paragraphs below sourced from Wikipedia. Some of them may be duplicates. "
       "Please carefully read these paragraphs and determine how many unique paragraphs there "
       "are after removing duplicates. In other words, how many non-repeating paragraphs are "
       "there in total?\n\n{context}\n\nPlease enter the final count of unique paragraphs after "
       "removing duplicates. The output format should only contain the number, such as 1, 2, 3, "
       "and so on.\n\nThe final answer is: "},
      {"passage_retrieval_en", Metric::retrieval, 32,
       "Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine which "
       "paragraph the abstract is from.\n\nThe following is an abstract.\n\n{input}\n\nPlease "
       "enter the number of the paragraph that the abstract is from. The answer format must be "
       "like \"Paragraph 1\", \"Paragraph 2\", etc.\n\nThe answer is: ",
       "Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine which "
       "paragraph the abstract is from.\n\n{context}\n\nThe following is an "
       "abstract.\n\n{input}\n\nPlease enter the number of the paragraph that the abstract is "
       "from. The answer format must be like \"Paragraph 1\", \"Paragraph 2\", etc.\n\nThe "
       "answer is: "},
      {"passage_retrieval_zh", Metric::retrieval_zh, 32,
       "图中展示了若干段落。请判断以下摘要出自哪一段。摘要：\n\n{input}"
       "\n\n请输入摘要所属段落的编号。"
       "答案格式必须是\"段落1\"，\"段落2\"等格式\n\n答案是：",
       "以下是若干段落文字，以及其中一个段落的摘要。请确定给定的摘要出自哪一段。\n\n{context}"
       "\n\n下面"
       "是一个摘要\n\n{input}\n\n请输入摘要所属段落的编号。答案格式必须是\"段落1\"，\"段落2\"等格式"
       "\n\n答案是："},
      {"lcc", Metric::code_sim, 64,
       "Please complete the code. Only give me the next line of code.\nNext line of code:\n",
       "Please complete the code given below. Only give me the next line of code.\n{context}Next "
       "line of code:\n"},
      {"repobench-p", Metric::code_sim, 64,
       "Please complete the code. Only give me the next line of code.\n{input}Next line of "
       "code:\n",
       "Please complete the code given below.  Only give me the next line of code. "
       "\n{context}{input}Next line of code:\n"},
  };
  return kDatasets;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

// Python's str.strip() for the ASCII white space the datasets hold.
std::string strip(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\n\r\v\f");
  if (start == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t\n\r\v\f");
  return std::string(text.substr(start, end - start + 1));
}

// Reads a JSONL file: (line number, object) for every non-blank line. Throws naming the line.
std::vector<std::pair<size_t, json>> read_jsonl(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::not_found, std::string(what) + ": cannot open " + path);
  std::vector<std::pair<size_t, json>> rows;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_object()) {
      throw Error(ErrorCode::invalid_input, std::string(what) + ": " + path + " line " +
                                                std::to_string(number) + " is not a JSON object");
    }
    rows.emplace_back(number, std::move(value));
  }
  if (rows.empty())
    throw Error(ErrorCode::invalid_input, std::string(what) + ": " + path + " holds no item");
  return rows;
}

[[noreturn]] void bad_field(std::string_view what, const std::string& path, size_t line,
                            std::string_view field, std::string_view expected) {
  throw Error(ErrorCode::invalid_input, std::string(what) + ": " + path + " line " +
                                            std::to_string(line) + ": \"" + std::string(field) +
                                            "\" " + std::string(expected));
}

std::string string_field(const json& row, std::string_view field, std::string_view what,
                         const std::string& path, size_t line, bool required = true) {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) {
    if (required) bad_field(what, path, line, field, "is missing");
    return "";
  }
  if (!it->is_string()) bad_field(what, path, line, field, "must be a string");
  return it->get<std::string>();
}

std::vector<std::string> string_list(const json& row, std::string_view field, std::string_view what,
                                     const std::string& path, size_t line, bool required = true) {
  auto it = row.find(field);
  if (it == row.end() || it->is_null()) {
    if (required) bad_field(what, path, line, field, "is missing");
    return {};
  }
  if (it->is_string()) return {it->get<std::string>()};
  if (!it->is_array()) bad_field(what, path, line, field, "must be a string or an array");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (v.is_string())
      out.push_back(v.get<std::string>());
    else if (v.is_number_integer())
      out.push_back(std::to_string(v.get<int64_t>()));
    else
      bad_field(what, path, line, field, "must hold strings");
  }
  return out;
}

std::string id_of(const json& row, size_t line) {
  for (const char* key : {"_id", "unique_id", "id"}) {
    auto it = row.find(key);
    if (it == row.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  }
  return "line" + std::to_string(line);
}

}  // namespace

const std::vector<std::string>& longbench_dataset_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& d : longbench_datasets()) names.emplace_back(d.name);
    return names;
  }();
  return kNames;
}

std::vector<QaRecord> read_qa_jsonl(const std::string& path) {
  constexpr std::string_view kWhat = "qa data";
  std::vector<QaRecord> records;
  for (const auto& [line, row] : read_jsonl(path, kWhat)) {
    QaRecord record;
    record.documents = string_list(row, "context", kWhat, path, line);
    record.question = string_field(row, "question", kWhat, path, line);
    record.answers = string_list(row, "answers", kWhat, path, line);
    if (record.answers.empty()) bad_field(kWhat, path, line, "answers", "is empty");
    records.push_back(std::move(record));
  }
  return records;
}

std::vector<EvalItem> read_longbench(const std::string& path) {
  constexpr std::string_view kWhat = "longbench";
  std::vector<EvalItem> items;
  for (const auto& [line, row] : read_jsonl(path, kWhat)) {
    std::string dataset = string_field(row, "dataset", kWhat, path, line);
    if (dataset.ends_with("_e")) dataset.resize(dataset.size() - 2);  // LongBench-E
    const auto& datasets = longbench_datasets();
    auto it = std::find_if(datasets.begin(), datasets.end(),
                           [&](const LongBenchDataset& d) { return d.name == dataset; });
    if (it == datasets.end()) {
      std::string list;
      for (const auto& d : datasets) list += (list.empty() ? "" : ", ") + std::string(d.name);
      throw Error(ErrorCode::invalid_input, "longbench: " + path + " line " + std::to_string(line) +
                                                ": unknown dataset \"" + dataset +
                                                "\" (known: " + list + ")");
    }
    EvalItem item;
    item.suite = "longbench";
    item.task = dataset;
    item.id = dataset + "/" + id_of(row, line);
    const std::string input = strip(string_field(row, "input", kWhat, path, line, false));
    item.context = strip(string_field(row, "context", kWhat, path, line));
    item.answers = string_list(row, "answers", kWhat, path, line);
    item.all_classes = string_list(row, "all_classes", kWhat, path, line, false);
    item.metric = it->metric;
    if (item.metric == Metric::classification && item.all_classes.empty())
      bad_field(kWhat, path, line, "all_classes", "is needed by a classification dataset");
    item.first_line_only =
        dataset == "trec" || dataset == "triviaqa" || dataset == "samsum" || dataset == "lsht";
    item.max_answer_tokens = it->max_answer_tokens;
    static constexpr std::string_view kNewlineMarked[] = {"passage_retrieval_en",
                                                          "hotpotqa",
                                                          "narrativeqa",
                                                          "qmsum",
                                                          "gov_report",
                                                          "vcsum",
                                                          "triviaqa",
                                                          "multi_news",
                                                          "dureader",
                                                          "qasper",
                                                          "samsum",
                                                          "trec"};
    item.newline_marker_suggested = std::find(std::begin(kNewlineMarked), std::end(kNewlineMarked),
                                              dataset) != std::end(kNewlineMarked);
    item.prompt = strip(replace_all(std::string(it->image_prompt), "{input}", input));
    item.text_prompt = strip(replace_all(
        replace_all(std::string(it->text_prompt), "{context}", item.context), "{input}", input));
    item.question = input.empty() ? item.prompt : input;
    int64_t length = 0;
    if (auto l = row.find("length"); l != row.end() && l->is_number()) length = l->get<int64_t>();
    item.length_bin = length < 4000 ? "0-4k" : length < 8000 ? "4-8k" : "8k+";
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<EvalItem> read_mrcr(const std::string& path) {
  constexpr std::string_view kWhat = "mrcr";
  std::vector<EvalItem> items;
  for (const auto& [line, row] : read_jsonl(path, kWhat)) {
    EvalItem item;
    item.suite = "mrcr";
    item.metric = Metric::mrcr;
    const std::string id = id_of(row, line);
    if (row.contains("prompt")) {
      json messages = row["prompt"];
      if (messages.is_string()) {
        messages = json::parse(messages.get<std::string>(), nullptr, false);
      }
      if (!messages.is_array() || messages.empty())
        bad_field(kWhat, path, line, "prompt", "must be a non-empty list of messages");
      std::string context;
      for (size_t m = 0; m < messages.size(); ++m) {
        const json& message = messages[m];
        if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
            !message.contains("content") || !message["content"].is_string()) {
          bad_field(kWhat, path, line, "prompt",
                    "must hold messages with a \"role\" and a \"content\" string");
        }
        const std::string role = message["role"].get<std::string>();
        const std::string content = message["content"].get<std::string>();
        if (m + 1 == messages.size()) {
          item.question = content;
          break;
        }
        if (!context.empty()) context += "\n";
        context += (role == "assistant" ? "Assistant: " : "User: ") + content;
      }
      item.context = std::move(context);
    } else {
      item.context = string_field(row, "context", kWhat, path, line);
      item.question = string_field(row, "question", kWhat, path, line);
    }
    if (item.context.empty())
      bad_field(kWhat, path, line, "prompt", "has no turn before the question");
    item.answers = {string_field(row, "answer", kWhat, path, line)};
    item.prefix = string_field(row, "random_string_to_prepend", kWhat, path, line);
    int needles = 0;
    if (auto n = row.find("n_needles"); n != row.end() && n->is_number_integer()) {
      needles = n->get<int>();
    } else if (size_t at = id.find("needle"); at != std::string::npos) {
      size_t start = at;
      while (start > 0 && std::isdigit(static_cast<unsigned char>(id[start - 1]))) --start;
      if (start < at) needles = std::stoi(id.substr(start, at - start));
    }
    item.task = needles > 0 ? "mrcr_" + std::to_string(needles) + "needle" : "mrcr";
    item.id = item.task + "/" + id;
    item.prompt = "\n" + item.question;  // the Glyph release: a newline, then the question
    item.text_prompt = item.context + "\n" + item.question;
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<EvalItem> load_suite(std::string_view command, std::string_view suite,
                                 const std::vector<std::string>& data,
                                 const std::vector<std::string>& tasks, int limit,
                                 RulerOptions ruler) {
  if (suite == "ruler") {
    ruler.tasks = tasks;
    for (const auto& path : data) {
      auto records = read_qa_jsonl(path);
      ruler.qa.insert(ruler.qa.end(), records.begin(), records.end());
    }
    return generate_ruler(ruler);
  }
  if (data.empty()) {
    throw Error(ErrorCode::invalid_argument, std::string(command) + " " + std::string(suite) +
                                                 ": give the suite's JSONL with --data FILE.jsonl");
  }
  std::vector<EvalItem> items;
  for (const auto& path : data) {
    auto more = suite == "longbench" ? read_longbench(path) : read_mrcr(path);
    items.insert(items.end(), std::make_move_iterator(more.begin()),
                 std::make_move_iterator(more.end()));
  }
  if (!tasks.empty()) {
    std::erase_if(items, [&](const EvalItem& item) {
      return std::find(tasks.begin(), tasks.end(), item.task) == tasks.end();
    });
  }
  return limit_items(std::move(items), limit);
}

std::vector<EvalItem> limit_items(std::vector<EvalItem> items, int limit) {
  if (limit <= 0) return items;
  std::map<std::pair<std::string, std::string>, int> taken;
  std::vector<EvalItem> kept;
  for (auto& item : items) {
    int& count = taken[{item.task, item.length_bin}];
    if (count < limit) {
      ++count;
      kept.push_back(std::move(item));
    }
  }
  return kept;
}

}  // namespace glyph::eval
