#include "bundle.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sys/stat.h>

#include "error.h"
#include "sha256.h"
#include "zip_archive.h"

namespace stylemm {
namespace {

using nlohmann::json;
using Files = std::map<std::string, std::vector<std::uint8_t>>;

constexpr const char* kManifest = "manifest.json";
constexpr std::size_t kMaxManifestBytes = std::size_t{1} << 20;
constexpr long long kMaxFileBytes = (1LL << 31) - 1;

[[noreturn]] void bad(const std::string& origin, const std::string& why) {
  throw Error(SMM_ERR_BAD_BUNDLE, origin + ": " + why);
}

bool is_directory(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The whole file, or SMM_ERR_IO naming it. At most `limit` bytes are accepted.
std::vector<std::uint8_t> read_file(const std::string& path, long long limit, const std::string& what) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(SMM_ERR_IO, "cannot open " + path + " (" + what + ")");
  const std::streamoff size = in.tellg();
  if (size < 0) throw Error(SMM_ERR_IO, "cannot read " + path);
  if (size > limit) throw Error(SMM_ERR_BAD_BUNDLE, path + " is larger than " + std::to_string(limit) + " bytes");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw Error(SMM_ERR_IO, "cannot read " + path);
  return bytes;
}

// File names in a bundle are flat: no folders, no way out of the bundle.
bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find_first_of("/\\") == std::string::npos &&
         name.find('\0') == std::string::npos;
}

json parse_manifest(const std::vector<std::uint8_t>& bytes, const std::string& origin) {
  if (bytes.size() > kMaxManifestBytes) bad(origin, std::string(kManifest) + " is larger than 1 MiB");
  int depth = 0;  // nlohmann copies values recursively: a deeply nested manifest would overflow the stack
  const auto deepest = [&depth](int d, json::parse_event_t, json&) { depth = d > depth ? d : depth; return true; };
  json manifest = json::parse(bytes.begin(), bytes.end(), deepest, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || depth > 64)
    bad(origin, std::string(kManifest) + " is not valid JSON, or nests deeper than 64 levels");
  if (!manifest.is_object() || manifest.value("format", json()) != "stylemm-bundle")
    bad(origin, std::string(kManifest) + " does not describe a stylemm-bundle");
  const json& version = manifest.value("format_version", json());
  if (!version.is_number_integer()) bad(origin, std::string(kManifest) + " has no integer format_version");
  if (version.get<double>() > kFormatVersion)  // not long long: 2^64 - 1 would wrap to -1
    throw Error(SMM_ERR_VERSION, origin + " is format version " + version.dump() + ", newer than this library reads (" +
                                     std::to_string(kFormatVersion) + "); upgrade libstylemm");
  const json& minor = manifest.value("format_minor", json(0));
  if (!minor.is_number_unsigned() && !(minor.is_number_integer() && minor.get<long long>() >= 0))
    bad(origin, std::string(kManifest) + " has a format_minor that is not a non-negative integer");
  for (const char* key : {"files", "arrays", "networks", "parameters", "mesh"}) {
    if (!manifest.contains(key) || !manifest[key].is_object())
      bad(origin, std::string(kManifest) + " has no '" + key + "' object");
  }
  return manifest;
}

Files read_directory(const std::string& path) {
  Files files;
  const std::string manifest_path = path + "/" + kManifest;
  std::ifstream probe(manifest_path);
  if (!probe) bad(path, std::string("has no ") + kManifest + ": not a bundle, or an unfinished one");
  files[kManifest] = read_file(manifest_path, static_cast<long long>(kMaxManifestBytes) + 1, "the manifest");
  const json manifest = parse_manifest(files[kManifest], path);
  for (const auto& item : manifest["files"].items()) {
    if (!plain_name(item.key())) bad(path, "the manifest lists '" + item.key() + "', which is not a plain file name");
    const std::string file = path + "/" + item.key();
    if (is_directory(file)) bad(path, "the manifest lists '" + item.key() + "', which is a folder");
    std::ifstream exists(file);
    if (!exists) bad(path, "the manifest lists '" + item.key() + "', which is missing");
    files[item.key()] = read_file(file, kMaxFileBytes, "a bundle file");
  }
  return files;
}

Files read_archive(const std::uint8_t* data, std::size_t size, const std::string& origin) {
  std::map<std::string, Span> members;
  std::string error;
  if (!read_stored_zip(data, size, members, error)) bad(origin, "damaged .smm archive: " + error);
  Files files;
  for (const auto& [name, span] : members) files[name].assign(span.data, span.data + span.size);
  return files;
}

bool is_nonnegative_int(const json& value) {
  return value.is_number_integer() && value.get<long long>() >= 0 && value.get<long long>() < (1LL << 31);
}

// Every listed file present with its size and sha256; nothing unlisted; every array and
// network entry naming a listed file (the checks of stylemm_runtime.bundle._check_files).
void check_files(const json& manifest, const Files& files, const std::string& origin) {
  const json& listed = manifest["files"];
  for (const auto& item : listed.items()) {
    const json& entry = item.value();
    if (!plain_name(item.key()) || !entry.is_object() || !entry.contains("sha256") || !entry["sha256"].is_string() ||
        !entry.contains("bytes") || !is_nonnegative_int(entry["bytes"]))
      bad(origin, "bad manifest entry for file '" + item.key() + "' (wanted {\"bytes\": int, \"sha256\": hex})");
    const auto file = files.find(item.key());
    if (file == files.end()) bad(origin, "the manifest lists '" + item.key() + "', which is missing");
    if (static_cast<long long>(file->second.size()) != entry["bytes"].get<long long>() ||
        sha256_hex(file->second.data(), file->second.size()) != entry["sha256"].get<std::string>())
      bad(origin, "'" + item.key() + "' does not match its sha256 in the manifest: the bundle is damaged or was modified");
  }
  for (const auto& [name, bytes] : files) {
    if (name != kManifest && !listed.contains(name))
      bad(origin, "'" + name + "' is not in the manifest; a bundle holds only what its manifest lists");
  }
  for (const auto& item : manifest["arrays"].items()) {
    const json& entry = item.value();
    bool ok = entry.is_object() && entry.contains("file") && entry["file"].is_string() &&
              listed.contains(entry["file"].get<std::string>()) && entry.contains("dtype") &&
              (entry["dtype"] == "float32" || entry["dtype"] == "int32") && entry.contains("shape") &&
              entry["shape"].is_array();
    if (ok) {
      for (const json& size : entry["shape"]) ok = ok && is_nonnegative_int(size);
    }
    if (!ok) bad(origin, "bad manifest entry for array '" + item.key() + "' (wanted file, dtype float32|int32, shape)");
  }
  for (const auto& item : manifest["networks"].items()) {
    const json& entry = item.value();
    if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string() ||
        !listed.contains(entry["file"].get<std::string>()))
      bad(origin, "network '" + item.key() + "' names no listed file");
  }
}

std::string shape_text(const std::vector<long long>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + (shape[i] < 0 ? "*" : std::to_string(shape[i]));
  return text + (shape.size() == 1 ? ",)" : ")");
}

// The cross-array rules, compiled in from runtime/stylemm_runtime/bundle_rules.json: the
// Python reader checks the same file in the same order with the same messages.
const json& rules() {
  static const json parsed = json::parse(
#include "bundle_rules.inc"
  );
  return parsed;
}

std::string message(const std::string& kind, const std::map<std::string, std::string>& fields) {
  std::string text = rules()["messages"][kind].get<std::string>();
  for (const auto& [key, value] : fields) {
    const std::string placeholder = "{" + key + "}";
    for (std::size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size()))
      text.replace(at, placeholder.size(), value);
  }
  return text;
}

const json* walk(const json& manifest, const json& path) {
  const json* node = &manifest;
  for (const json& key : path) {
    if (!node->is_object() || !node->contains(key.get<std::string>())) return nullptr;
    node = &(*node)[key.get<std::string>()];
  }
  return node;
}

// An integer as JSON wrote it; nlohmann keeps non-negative integers unsigned, so 2^64 - 1
// must not pass for -1.
bool as_integer(const json* value, long long& out) {
  if (value == nullptr || !value->is_number_integer()) return false;
  if (value->is_number_unsigned()) {
    if (value->get<unsigned long long>() > static_cast<unsigned long long>(std::numeric_limits<long long>::max())) return false;
    out = static_cast<long long>(value->get<unsigned long long>());
    return true;
  }
  out = value->get<long long>();
  return true;
}

bool distinct_names(const json* names) {
  if (names == nullptr || !names->is_array() || names->empty()) return false;
  std::set<std::string> seen;
  for (const json& name : *names) {
    if (!name.is_string() || name.get<std::string>().empty() || !seen.insert(name.get<std::string>()).second) return false;
  }
  return true;
}

constexpr long long kFree = -1;  // a dimension bound by the first array that has it

std::map<std::string, long long> rule_dimensions(const json& manifest, const std::map<std::string, bool>& groups) {
  std::map<std::string, long long> dims;
  for (const json& rule : rules()["dimensions"]) {
    if (rule.contains("group") && !groups.at(rule["group"].get<std::string>())) continue;
    const std::string name = rule["name"].get<std::string>();
    if (rule.contains("value")) {
      long long value = 0;
      if (!as_integer(walk(manifest, rule["value"]), value) || value < rule["min"].get<long long>() ||
          value > rule["max"].get<long long>()) {
        std::string path;
        for (const json& key : rule["value"]) path += (path.empty() ? "" : ".") + key.get<std::string>();
        throw RuleError(message("dimension", {{"path", path}, {"min", rule["min"].dump()}, {"max", rule["max"].dump()}}));
      }
      dims[name] = rule.contains("zero_if_zero") && dims.at(rule["zero_if_zero"].get<std::string>()) == 0 ? 0 : value;
    } else if (rule.contains("count")) {
      const json* names = walk(manifest, rule["count"]);
      if (!distinct_names(names)) {
        std::string path;
        for (const json& key : rule["count"]) path += (path.empty() ? "" : ".") + key.get<std::string>();
        throw RuleError(message("names", {{"path", path}}));
      }
      dims[name] = static_cast<long long>(names->size());
    } else if (rule.contains("siren_parameters")) {
      const long long hidden = dims.at(rule["siren_parameters"][0].get<std::string>());
      const long long layers = dims.at(rule["siren_parameters"][1].get<std::string>());
      long long total = 0;
      for (long long k = 0; k <= layers; ++k) total += ((k == 0 ? 3 : hidden) + 1) * (k == layers ? 3 : hidden);
      dims[name] = total;
    } else if (rule.contains("sum")) {
      long long total = 0;
      for (const json& part : rule["sum"]) total += dims.at(part.get<std::string>());
      dims[name] = total;
    } else {
      dims[name] = kFree;
    }
  }
  return dims;
}

void check_parents(const json& manifest, long long joints) {
  const json* parents = walk(manifest, json::array({"joints", "parents"}));
  bool ok = parents != nullptr && parents->is_array() && static_cast<long long>(parents->size()) == joints;
  for (long long j = 0; ok && j < joints; ++j) {
    long long parent = 0;
    ok = as_integer(&(*parents)[j], parent) && (j == 0 ? parent == -1 : parent >= 0 && parent < j);
  }
  if (!ok) throw RuleError(message("parents", {}));
}

// A JSON number that is finite as a float, as the core stores it.
bool finite_float(const json* value) { return value != nullptr && value->is_number() && std::isfinite(value->get<float>()); }

void check_value(const json& manifest, const json& rule) {
  const json* value = walk(manifest, rule["path"]);
  const std::string kind = rule["kind"].get<std::string>();
  bool ok;
  if (kind == "range") {
    ok = value == nullptr || value->is_null() ||
         (value->is_array() && value->size() == 2 && finite_float(&(*value)[0]) && finite_float(&(*value)[1]) &&
          (*value)[0].get<float>() < (*value)[1].get<float>() && (*value)[1].get<float>() > 0);
  } else if (kind == "finite_number") {
    ok = finite_float(value);
  } else {  // "equals"
    ok = value != nullptr && value->is_string() && *value == rule["value"];
  }
  if (!ok) {
    std::string path;
    for (const json& key : rule["path"]) path += (path.empty() ? "" : ".") + key.get<std::string>();
    throw RuleError(message(kind, {{"path", path}, {"value", rule.value("value", json()).dump()}}));
  }
}

bool little_endian() {
  const std::uint16_t one = 1;
  std::uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

// The rules of bundle_rules.json, in its order (stylemm_runtime.bundle_rules.check).
void Bundle::check_rules() const {
  const json& manifest = manifest_;
  std::map<std::string, bool> groups;
  for (const auto& group : rules()["groups"].items()) {
    const json* node = walk(manifest, group.value());
    groups[group.key()] = node != nullptr && node->is_object();
  }
  std::map<std::string, long long> dims = rule_dimensions(manifest, groups);
  check_parents(manifest, dims.at("joints"));
  for (const json& rule : rules()["values"]) {
    if (!rule.contains("group") || groups.at(rule["group"].get<std::string>())) check_value(manifest, rule);
  }
  const long long minor = manifest.value("format_minor", 0LL);
  for (const json& rule : rules()["arrays"]) {
    if (rule.contains("group") && !groups.at(rule["group"].get<std::string>())) continue;
    const std::string name = (minor == 0 && rule.contains("minor_0") ? rule["minor_0"] : rule["name"]).get<std::string>();
    if (!has_array(name)) {
      // Optional, or only required together with an array that is absent.
      if (rule.value("optional", false) || (rule.contains("with") && !has_array(rule["with"].get<std::string>()))) continue;
      throw RuleError(message("missing", {{"array", name}}));
    }
    const json& entry = manifest_["arrays"][name];
    const std::vector<long long> actual = entry["shape"].get<std::vector<long long>>();
    std::vector<long long> expected;
    for (std::size_t k = 0; k < rule["shape"].size(); ++k) {
      const json& size = rule["shape"][k];
      if (size.is_number_integer()) {
        expected.push_back(size.get<long long>());
        continue;
      }
      long long& dim = dims.at(size.get<std::string>());
      if (dim == kFree && k < actual.size()) dim = actual[k];
      expected.push_back(dim);
    }
    const std::string dtype = rule["dtype"].get<std::string>();
    if (entry["dtype"] != dtype || actual != expected)
      throw RuleError(message("shape", {{"array", name}, {"dtype", entry["dtype"].get<std::string>()}, {"shape", shape_text(actual)},
                                        {"expected_dtype", dtype}, {"expected_shape", shape_text(expected)}}));
    std::vector<long long> found;
    const std::vector<std::uint8_t>& bytes = array_bytes(name, dtype.c_str(), expected, found);
    const std::size_t count = bytes.size() / 4;
    if (dtype == "float32") {
      for (std::size_t i = 0; i < count; ++i) {
        float value;
        std::memcpy(&value, bytes.data() + 4 * i, 4);
        if (!std::isfinite(value)) throw RuleError(message("finite", {{"array", name}}));
      }
    } else if (rule.contains("indexes")) {
      const long long limit = dims.at(rule["indexes"].get<std::string>());
      for (std::size_t i = 0; i < count; ++i) {
        std::int32_t value;
        std::memcpy(&value, bytes.data() + 4 * i, 4);
        if (value < 0 || value >= limit)
          throw RuleError(message("index", {{"array", name}, {"count", std::to_string(limit)},
                                            {"dimension", rule["indexes"].get<std::string>()}}));
      }
    }
  }
}

Bundle::Bundle(std::string origin, Files files) : origin_(std::move(origin)), files_(std::move(files)) {
  if (!little_endian()) throw Error(SMM_ERR_UNSUPPORTED, "bundles hold little-endian arrays; this machine is big-endian");
  const auto manifest = files_.find(kManifest);
  if (manifest == files_.end()) bad(origin_, std::string("has no ") + kManifest + ": not a bundle, or an unfinished one");
  manifest_ = parse_manifest(manifest->second, origin_);
  check_files(manifest_, files_, origin_);
  try {
    check_rules();
  } catch (const RuleError& e) {
    bad(origin_, e.what());
  }
}

Bundle Bundle::from_path(const std::string& path) {
  if (is_directory(path)) return Bundle(path, read_directory(path));
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw Error(SMM_ERR_IO, "no bundle at " + path + ": pass a bundle directory or .smm file written by stylemm-export");
  const std::vector<std::uint8_t> archive = read_file(path, std::numeric_limits<long long>::max(), "a .smm bundle");
  return Bundle(path, read_archive(archive.data(), archive.size(), path));
}

Bundle Bundle::from_memory(const std::uint8_t* data, std::size_t size) {
  return Bundle("<memory>", read_archive(data, size, "<memory>"));
}

bool Bundle::has_array(const std::string& name) const { return manifest_["arrays"].contains(name); }

const std::vector<std::uint8_t>& Bundle::array_bytes(const std::string& name, const char* dtype,
                                                     const std::vector<long long>& shape,
                                                     std::vector<long long>& actual) const {
  if (!has_array(name)) bad(origin_, "the manifest has no array '" + name + "'");
  const json& entry = manifest_["arrays"][name];
  actual = entry["shape"].get<std::vector<long long>>();
  bool ok = entry["dtype"] == dtype && actual.size() == shape.size();
  for (std::size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == actual[i];
  if (!ok)
    bad(origin_, "array '" + name + "' is " + entry["dtype"].get<std::string>() + " " + shape_text(actual) +
                     ", expected " + dtype + " " + shape_text(shape));
  long long count = 1;
  for (long long size : actual) {
    if (size && count > kMaxFileBytes / 4 / size) bad(origin_, "array '" + name + "' is too large");
    count *= size;
  }
  const std::vector<std::uint8_t>& bytes = files_.at(entry["file"].get<std::string>());
  if (static_cast<long long>(bytes.size()) != 4 * count)
    bad(origin_, entry["file"].get<std::string>() + " holds " + std::to_string(bytes.size()) + " bytes, not a " + dtype +
                     " array of shape " + shape_text(actual));
  return bytes;
}

std::vector<float> Bundle::floats(const std::string& name, const std::vector<long long>& shape,
                                  std::vector<long long>* actual) const {
  std::vector<long long> found;
  const std::vector<std::uint8_t>& bytes = array_bytes(name, "float32", shape, found);
  std::vector<float> values(bytes.size() / 4);
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  for (float v : values) {
    if (!std::isfinite(v)) bad(origin_, "array '" + name + "' contains NaN or Inf");
  }
  if (actual) *actual = found;
  return values;
}

std::vector<std::int32_t> Bundle::ints(const std::string& name, const std::vector<long long>& shape,
                                       std::vector<long long>* actual) const {
  std::vector<long long> found;
  const std::vector<std::uint8_t>& bytes = array_bytes(name, "int32", shape, found);
  std::vector<std::int32_t> values(bytes.size() / 4);
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  if (actual) *actual = found;
  return values;
}

}  // namespace stylemm
