// Message templates of an MQTT route (SPEC §6).
//
// BodyTemplate (MQTT -> XMPP, `body`): literal text with RFC 6901 JSON pointers in
// braces, "{/temperature} °C, {/humidity}%". `{{` and `}}` are literal braces. A
// pointer cannot name a key containing '}' (there is no escape for it).
//
// CommandTemplate (XMPP -> MQTT, `command_template`): the message body replaces
// every `{body}`; nothing else is special. When the template is JSON (its first
// non-space character is '{' or '[', and that is not the start of `{body}`), every `{body}` must sit inside a JSON string
// and the body is inserted escaped as JSON string content, so any body (quotes,
// backslashes, newlines, emoji) yields valid JSON: '{"state": "{body}"}'. A body
// cannot be inserted as a bare JSON number/object: that would let the sender's text
// break the JSON. Non-JSON templates insert the body verbatim ("say {body}").
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <nlohmann/json.hpp>

namespace sb::transport::mqtt {

class BodyTemplate {
 public:
  BodyTemplate() = default;
  // nullopt with `error` set when invalid (bad pointer, unbalanced brace).
  static std::optional<BodyTemplate> parse(std::string_view text, std::string& error);

  // The rendered text. When a pointer is absent from `doc`, nullopt with `missing`
  // set to that pointer: the caller delivers the raw payload and logs a warning.
  // Strings render without quotes; numbers, booleans and null as JSON text;
  // objects and arrays as compact JSON.
  std::optional<std::string> render(const nlohmann::json& doc, std::string& missing) const;

  const std::string& text() const { return text_; }
  std::vector<std::string> pointers() const;

 private:
  struct Part {
    bool pointer = false;
    std::string text;  // literal text, or the pointer as written
    nlohmann::json::json_pointer ptr;
  };
  std::string text_;
  std::vector<Part> parts_;
};

// Validates an RFC 6901 pointer ("" is the whole document; otherwise '/'-prefixed,
// '~' only as ~0 or ~1). Returns an error text, or "" when valid.
std::string json_pointer_error(std::string_view pointer);

class CommandTemplate {
 public:
  CommandTemplate() = default;
  static std::optional<CommandTemplate> parse(std::string_view text, std::string& error);

  std::string render(std::string_view body) const;
  bool is_json() const { return json_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::string> literals_;  // text around the placeholders: n placeholders, n+1 literals
  bool json_ = false;
};

// True when `text` opens more than `limit` arrays/objects at once ('[' and '{'
// outside JSON strings, escapes honoured). Linear, no recursion: call it before
// parsing untrusted JSON, as nlohmann/json recurses per level in dump().
bool json_too_deep(std::string_view text, std::size_t limit);

// `s` escaped as the content of a JSON string (RFC 8259 §7), without the quotes.
// UTF-8 is kept as is; control characters become escapes.
std::string json_escape(std::string_view s);

}  // namespace sb::transport::mqtt
