// The field tables of docs/scenario-format.md and docs/model.md, generated
// from the field table (tests/scenario/docs_test.cpp keeps the docs in step).
#include <fmt/format.h>

#include <cmath>

#include "brink/scenario/fields.hpp"

namespace brink {
namespace {

// 1e8 rather than 100000000, 1e-9 rather than 1e-09.
std::string number_text(double v) {
  if (v == 9007199254740991.0) return "2^53−1";
  const double magnitude = std::abs(v);
  if (v == 0 || (magnitude >= 1e-3 && magnitude < 1e5)) return fmt::format("{}", v);
  const int exponent = static_cast<int>(std::floor(std::log10(magnitude)));
  return fmt::format("{}e{}", v / std::pow(10.0, exponent), exponent);
}

std::string key_text(const FieldSpec& f) {
  if (f.key != "*") return fmt::format("`{}`", f.key);
  if (f.section.ends_with(".weights")) return "`<feature>`";
  if (f.section == "events.*") return "`deploy` \\| `withdraw` \\| `mobilize` \\| `demobilize` \\| `reinforce`";
  return "`<actor id>`";
}

std::string type_text(const FieldSpec& f) {
  switch (f.kind) {
    case FieldKind::kNumber:
      return "number";
    case FieldKind::kInteger:
      return "integer";
    case FieldKind::kBoolean:
      return "boolean";
    case FieldKind::kChoice: {
      std::string out;
      for (std::size_t i = 0; i < f.choices.size(); ++i) out += fmt::format("{}`{}`", i ? " \\| " : "", f.choices[i]);
      return out;
    }
  }
  return {};
}

std::string default_text(const FieldSpec& f) {
  if (f.required) return "required";
  if (f.kind == FieldKind::kBoolean || f.kind == FieldKind::kChoice)
    return fmt::format("`{}`", f.choices[static_cast<std::size_t>(f.fallback)]);
  if (f.section == "actors.*.types.*.weights") return "the actor's";
  return number_text(f.fallback);
}

std::string range_text(const FieldSpec& f) {
  if (f.kind == FieldKind::kBoolean || f.kind == FieldKind::kChoice) return "–";
  return fmt::format("[{}, {}]", number_text(f.min), number_text(f.max));
}

std::string unit_text(const FieldSpec& f) { return f.unit.empty() ? "–" : std::string(f.unit); }

// The path of a row with placeholders: I actor, T type, A action, K issue, n list index, F feature.
std::string path_text(const FieldSpec& f) {
  std::string section(f.section);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"actors.*", "actors.I"},
                                 {"types.*", "types.T"},
                                 {"actions.*", "actions.A"},
                                 {"issues.*", "issues.K"},
                                 {"commitments.*", "commitments.n"},
                                 {"events.*", "events.n"}})
    if (const auto at = section.find(from); at != std::string::npos) section.replace(at, from.size(), to);
  if (f.key != "*") return fmt::format("`{}.{}`", section, f.key);
  if (f.section.ends_with(".weights")) return fmt::format("`{}.F`", section);
  if (f.section == "events.*")
    return fmt::format("`{}.deploy` / `withdraw` / `mobilize` / `demobilize` / `reinforce`", section);
  return fmt::format("`{}.I`", section);
}

}  // namespace

std::string fields_markdown(std::string_view section) {
  std::string out = "| Key | Type | Unit | Default | Range | Meaning |\n|---|---|---|---|---|---|\n";
  for (const FieldSpec* f : section_fields(section))
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", key_text(*f), type_text(*f), unit_text(*f),
                       default_text(*f), range_text(*f), f->meaning);
  return out;
}

std::string parameters_markdown() {
  std::string out = "| Path | Unit | Default | Range | Symbol | Meaning |\n|---|---|---|---|---|---|\n";
  for (const FieldSpec& f : field_table()) {
    if (f.kind != FieldKind::kNumber && f.kind != FieldKind::kInteger) continue;
    out += fmt::format("| {} | {} | {} | {}{} | {} | {} |\n", path_text(f), unit_text(f), default_text(f),
                       range_text(f), f.kind == FieldKind::kInteger ? ", integer" : "",
                       f.symbol.empty() ? "–" : std::string(f.symbol), f.meaning);
  }
  return out;
}

}  // namespace brink
