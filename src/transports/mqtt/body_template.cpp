#include "transports/mqtt/body_template.hpp"

namespace sb::transport::mqtt {
namespace {

constexpr std::string_view kBody = "{body}";

std::string col(std::size_t offset) { return " at column " + std::to_string(offset + 1); }

}  // namespace

std::string json_pointer_error(std::string_view p) {
  if (p.empty()) return {};
  if (p.front() != '/') return "a JSON pointer starts with '/' (RFC 6901), got '" + std::string(p) + "'";
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '~') continue;
    if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))
      return "in JSON pointer '" + std::string(p) + "': '~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')";
  }
  return {};
}

std::optional<BodyTemplate> BodyTemplate::parse(std::string_view text, std::string& error) {
  BodyTemplate t;
  t.text_ = std::string(text);
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back(Part{false, std::move(literal), nlohmann::json::json_pointer()});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      error = "unbalanced '}'" + col(i) + " (write }} for a literal brace)";
      return std::nullopt;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    auto close = text.find('}', i + 1);
    auto next_open = text.find('{', i + 1);
    if (close == std::string_view::npos || next_open < close) {
      error = "unbalanced '{'" + col(i) + " (write {{ for a literal brace)";
      return std::nullopt;
    }
    std::string_view ptr = text.substr(i + 1, close - i - 1);
    if (ptr.empty()) {
      error = "empty placeholder {}" + col(i) + " (a placeholder is a JSON pointer like {/temperature}; {{}} is literal)";
      return std::nullopt;
    }
    if (auto e = json_pointer_error(ptr); !e.empty()) {
      error = e + col(i);
      return std::nullopt;
    }
    flush();
    try {
      t.parts_.push_back(Part{true, std::string(ptr), nlohmann::json::json_pointer(std::string(ptr))});
    } catch (const nlohmann::json::exception& e) {  // unreachable after the check above; keep it safe
      error = std::string(e.what()) + col(i);
      return std::nullopt;
    }
    i = close;
  }
  flush();
  return t;
}

std::optional<std::string> BodyTemplate::render(const nlohmann::json& doc, std::string& missing) const {
  std::string out;
  for (const Part& p : parts_) {
    if (!p.pointer) {
      out += p.text;
      continue;
    }
    const nlohmann::json* v = nullptr;
    try {
      v = &doc.at(p.ptr);
    } catch (const nlohmann::json::exception&) {
      // out_of_range (absent key/index) or parse_error (a key used on an array).
      missing = p.text;
      return std::nullopt;
    }
    if (v->is_string()) out += v->get_ref<const std::string&>();
    else out += v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return out;
}

std::vector<std::string> BodyTemplate::pointers() const {
  std::vector<std::string> out;
  for (auto& p : parts_)
    if (p.pointer) out.push_back(p.text);
  return out;
}

bool json_too_deep(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::string json_escape(std::string_view s) {
  // nlohmann/json's string serialiser, without the surrounding quotes; invalid
  // UTF-8 becomes U+FFFD instead of an exception.
  auto quoted = nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return quoted.substr(1, quoted.size() - 2);
}

std::optional<CommandTemplate> CommandTemplate::parse(std::string_view text, std::string& error) {
  CommandTemplate t;
  t.text_ = std::string(text);
  std::size_t start = 0;
  for (;;) {
    auto at = text.find(kBody, start);
    if (at == std::string_view::npos) {
      t.literals_.emplace_back(text.substr(start));
      break;
    }
    t.literals_.emplace_back(text.substr(start, at - start));
    start = at + kBody.size();
  }
  if (t.literals_.size() < 2) {
    error = "must contain the placeholder {body} (the message text)";
    return std::nullopt;
  }
  auto first = text.find_first_not_of(" \t\r\n");
  // "{body} ..." is a text template that starts with the placeholder, not JSON.
  t.json_ = first != std::string_view::npos && (text[first] == '{' || text[first] == '[') &&
            text.substr(first, kBody.size()) != kBody;
  if (!t.json_) return t;

  // Every {body} inside a JSON string: scan strings with their escapes.
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (text.substr(i, kBody.size()) == kBody) {
      error = "in a JSON template, {body}" + col(i) +
              " must be inside a JSON string, e.g. '{\"state\": \"{body}\"}' (the body is inserted JSON-escaped)";
      return std::nullopt;
    }
  }
  // A body with every character class that needs escaping must still give valid JSON.
  const std::string sample = "a \"quoted\" \\ back\nslash\t\x01 \xc3\xa9 \xf0\x9f\x92\xa1";
  const std::string rendered = t.render(sample);
  try {
    auto doc = nlohmann::json::parse(rendered);
    (void)doc;
  } catch (const nlohmann::json::parse_error& e) {
    error = "looks like JSON (starts with '" + std::string(1, text[first]) + "') but is not valid JSON: " + e.what();
    return std::nullopt;
  }
  return t;
}

std::string CommandTemplate::render(std::string_view body) const {
  const std::string inserted = json_ ? json_escape(body) : std::string(body);
  std::string out = literals_.front();
  for (std::size_t i = 1; i < literals_.size(); ++i) {
    out += inserted;
    out += literals_[i];
  }
  return out;
}

}  // namespace sb::transport::mqtt
