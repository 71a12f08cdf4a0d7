#include "component/data_form.hpp"

#include "component/namespaces.hpp"
#include "component/stanza.hpp"

namespace sb::xmpp {
namespace {
const std::string kEmpty;

bool known_form_type(std::string_view t) {
  // XEP-0004 §3.1: the four form types.
  return t == "form" || t == "submit" || t == "cancel" || t == "result";
}
}  // namespace

const std::string& FormField::value() const { return values.empty() ? kEmpty : values.front(); }

std::string FormField::joined() const {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += '\n';
    out += values[i];
  }
  return out;
}

bool FormField::as_bool() const {
  const auto& v = value();
  return v == "1" || v == "true";
}

const FormField* DataForm::field(std::string_view var) const {
  for (const auto& f : fields)
    if (!f.var.empty() && f.var == var) return &f;
  return nullptr;
}

std::string DataForm::value(std::string_view var) const {
  const auto* f = field(var);
  return f ? f->value() : std::string();
}

std::string DataForm::form_type() const {
  const auto* f = field("FORM_TYPE");
  return f ? f->value() : std::string();
}

FormField& DataForm::add(std::string var, std::string type, std::string label, std::string value) {
  FormField f;
  f.var = std::move(var);
  f.type = std::move(type);
  f.label = std::move(label);
  if (!value.empty()) f.values.push_back(std::move(value));
  fields.push_back(std::move(f));
  return fields.back();
}

DataForm& DataForm::with_form_type(std::string_view ns) {
  FormField f;
  f.var = "FORM_TYPE";
  f.type = "hidden";
  f.values.emplace_back(ns);
  fields.insert(fields.begin(), std::move(f));
  return *this;
}

pugi::xml_node append_form(pugi::xml_node parent, const DataForm& form) {
  auto x = append(parent, "x", ns::data_forms);
  x.append_attribute("type").set_value(form.type.c_str());
  if (!form.title.empty()) append_text(x, "title", form.title);
  // XEP-0004 §3.2: one <instructions/> per line.
  if (!form.instructions.empty()) {
    std::string_view rest = form.instructions;
    while (true) {
      auto nl = rest.find('\n');
      append_text(x, "instructions", rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
  }
  for (const auto& f : form.fields) {
    auto fe = x.append_child("field");
    if (!f.var.empty()) fe.append_attribute("var").set_value(f.var.c_str());
    // In a submit form the type is optional; keep it when we know it.
    if (!f.type.empty()) fe.append_attribute("type").set_value(f.type.c_str());
    if (!f.label.empty()) set_text_attr(fe, "label", f.label);  // e.g. a device id
    // XEP-0004 schema order: desc, required, value*, option*.
    if (!f.desc.empty()) append_text(fe, "desc", f.desc);
    if (f.required) fe.append_child("required");
    for (const auto& v : f.values) append_text(fe, "value", v);
    for (const auto& o : f.options) {
      auto oe = fe.append_child("option");
      if (!o.label.empty()) set_text_attr(oe, "label", o.label);
      append_text(oe, "value", o.value);
    }
  }
  return x;
}

std::optional<DataForm> parse_form(const pugi::xml_node& x) {
  if (!x || local_name(x) != "x" || ns_of(x) != ns::data_forms) return std::nullopt;
  DataForm form;
  form.type = x.attribute("type").value();
  if (!known_form_type(form.type)) return std::nullopt;
  form.instructions.clear();
  for (auto c = x.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    auto name = local_name(c);
    if (name == "title") {
      form.title = c.text().get();
    } else if (name == "instructions") {
      if (!form.instructions.empty()) form.instructions += '\n';
      form.instructions += c.text().get();
    } else if (name == "field") {
      FormField f;
      f.var = c.attribute("var").value();
      f.type = c.attribute("type").value();
      f.label = c.attribute("label").value();
      for (auto fc = c.first_child(); fc; fc = fc.next_sibling()) {
        if (fc.type() != pugi::node_element) continue;
        auto fname = local_name(fc);
        if (fname == "value") {
          f.values.emplace_back(fc.text().get());
        } else if (fname == "required") {
          f.required = true;
        } else if (fname == "desc") {
          f.desc = fc.text().get();
        } else if (fname == "option") {
          f.options.push_back({fc.attribute("label").value(), fc.child_value("value")});
        }
      }
      form.fields.push_back(std::move(f));
    }
    // <reported/> and <item/> (multi-item results) are not needed by the core.
  }
  return form;
}

std::optional<DataForm> find_form(const pugi::xml_node& parent) {
  return parse_form(child(parent, "x", ns::data_forms));
}

}  // namespace sb::xmpp
