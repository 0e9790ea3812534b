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

bool little_endian() {
  const std::uint16_t one = 1;
  std::uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

}  // namespace

Bundle::Bundle(std::string origin, Files files) : origin_(std::move(origin)), files_(std::move(files)) {
  if (!little_endian()) throw Error(SMM_ERR_UNSUPPORTED, "bundles hold little-endian arrays; this machine is big-endian");
  const auto manifest = files_.find(kManifest);
  if (manifest == files_.end()) bad(origin_, std::string("has no ") + kManifest + ": not a bundle, or an unfinished one");
  manifest_ = parse_manifest(manifest->second, origin_);
  check_files(manifest_, files_, origin_);
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
