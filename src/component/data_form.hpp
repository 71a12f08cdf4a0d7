// XEP-0004 data forms: building and parsing <x xmlns='jabber:x:data'/>.
//
// Used by registration (XEP-0077 §4 extensibility), ad-hoc commands (XEP-0050)
// and anything else that asks a user for values. Multi-valued field types
// (text-multi, jid-multi, list-multi) keep one entry per <value/>.
// Pure; thread-compatible.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <pugixml.hpp>

namespace sb::xmpp {

struct FormOption {
  std::string label;
  std::string value;
};

struct FormField {
  std::string var;                  // empty only for "fixed"
  std::string type;                 // XEP-0004 §3.3; empty = text-single
  std::string label;
  std::string desc;
  bool required = false;
  std::vector<std::string> values;  // one per <value/>
  std::vector<FormOption> options;  // list-single / list-multi

  // First value, or "" (text-single, boolean, jid-single, list-single, hidden).
  const std::string& value() const;
  // All values joined with '\n' (text-multi as one string).
  std::string joined() const;
  // XEP-0004 §3.3 boolean: "1" or "true".
  bool as_bool() const;
};

struct DataForm {
  std::string type = "form";        // form | submit | cancel | result
  std::string title;
  std::string instructions;         // several <instructions/> are joined with '\n'
  std::vector<FormField> fields;

  const FormField* field(std::string_view var) const;
  // The value of `var`, or "" when absent.
  std::string value(std::string_view var) const;
  // XEP-0068: the hidden FORM_TYPE field's value, or "".
  std::string form_type() const;

  FormField& add(std::string var, std::string type, std::string label = {}, std::string value = {});
  // Adds the hidden FORM_TYPE field (XEP-0068) first.
  DataForm& with_form_type(std::string_view ns);
};

// Appends <x xmlns='jabber:x:data' type=…> with the form's contents to `parent`.
pugi::xml_node append_form(pugi::xml_node parent, const DataForm& form);
// Parses an <x xmlns='jabber:x:data'/> element; nullopt when it is not one or its
// type is not one XEP-0004 defines.
std::optional<DataForm> parse_form(const pugi::xml_node& x);
// The first data form child of `parent`, parsed.
std::optional<DataForm> find_form(const pugi::xml_node& parent);

}  // namespace sb::xmpp
