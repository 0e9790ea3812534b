// libFuzzer harness: the input is the bytes of manifest.json. Random bytes in a whole .smm
// almost never get past the sha256 checks, so this harness builds a valid .smm around the
// fuzzed manifest instead, and the fuzzer explores what the manifest says (wrong types,
// missing keys, bad shapes, huge dims, negative numbers, wrong parents...):
//   - the input is parsed with nlohmann-json; if it is an object, every array entry
//     ({"file", "dtype", "shape"}) gets a file of exactly prod(shape) * 4 bytes (up to a
//     cap; beyond it, or for a shape that is no list of non-negative ints, a 16-byte file,
//     so sizes mismatch), and every network entry's "file" a few placeholder bytes;
//   - "files" is overwritten with those files' true sizes and sha256s;
//   - the manifest (re-serialised) and the files go into a stored zip written here.
// The files' content comes from their names, so the fuzzer steers it through the
// manifest too: a name containing "nan", "inf", "neg", "huge" or "zero" gives NaNs, Infs,
// negative values (-1 for int32), huge values (3e38, INT32_MAX) or zeros; any other name,
// small positive floats in [0.25, 0.75) and int32 indices i % 3.
// A manifest that is no JSON object, or nests deeper than the harness's own recursion can
// take (nlohmann's dump and copies recurse), is put in the archive as it is, alone.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exercise.h"
#include "sha256.h"

namespace {

using nlohmann::json;

constexpr std::size_t kMaxFileBytes = std::size_t{1} << 18;   // one generated array file
constexpr std::size_t kMaxTotalBytes = std::size_t{1} << 20;  // all of them
constexpr std::size_t kMismatchBytes = 16;                    // the file of an impossible or too large shape
constexpr int kMaxDepth = 256;                                // deeper manifests go in raw

// ---- a stored (uncompressed) zip, written as Python's zipfile reads it -------------------

std::uint32_t crc32(const std::vector<std::uint8_t>& bytes) {
  static const auto table = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xffffffffu;
  for (std::uint8_t b : bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

void put16(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

using Members = std::map<std::string, std::vector<std::uint8_t>>;

std::vector<std::uint8_t> stored_zip(const Members& members) {
  constexpr std::uint32_t kDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, 00:00
  std::vector<std::uint8_t> out, directory;
  std::uint32_t count = 0;
  for (const auto& [name, bytes] : members) {
    if (name.size() > 0xffff) continue;  // cannot be named in a zip: the reader finds it missing
    const auto offset = static_cast<std::uint32_t>(out.size());
    const std::uint32_t crc = crc32(bytes), size = static_cast<std::uint32_t>(bytes.size());
    const auto name_size = static_cast<std::uint32_t>(name.size());
    put32(out, 0x04034b50);  // local file header
    put16(out, 10);          // version needed: 1.0
    put16(out, 0);           // flags
    put16(out, 0);           // method: stored
    put16(out, 0);           // time
    put16(out, kDate);
    put32(out, crc);
    put32(out, size);  // compressed
    put32(out, size);  // uncompressed
    put16(out, name_size);
    put16(out, 0);  // extra
    out.insert(out.end(), name.begin(), name.end());
    out.insert(out.end(), bytes.begin(), bytes.end());

    put32(directory, 0x02014b50);  // central directory entry
    put16(directory, 20);          // made by: MS-DOS, 2.0
    put16(directory, 10);
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, kDate);
    put32(directory, crc);
    put32(directory, size);
    put32(directory, size);
    put16(directory, name_size);
    put16(directory, 0);  // extra
    put16(directory, 0);  // comment
    put16(directory, 0);  // disk
    put16(directory, 0);  // internal attributes
    put32(directory, 0);  // external attributes
    put32(directory, offset);
    directory.insert(directory.end(), name.begin(), name.end());
    ++count;
  }
  const auto directory_offset = static_cast<std::uint32_t>(out.size());
  out.insert(out.end(), directory.begin(), directory.end());
  put32(out, 0x06054b50);  // end of central directory
  put16(out, 0);
  put16(out, 0);
  put16(out, count);
  put16(out, count);
  put32(out, static_cast<std::uint32_t>(directory.size()));
  put32(out, directory_offset);
  put16(out, 0);  // comment
  return out;
}

// ---- the bundle's files, made to the manifest's measure -----------------------------------

bool has(const std::string& name, const char* word) { return name.find(word) != std::string::npos; }

std::vector<std::uint8_t> array_file(const std::string& name, bool floats, std::size_t count) {
  std::vector<std::uint8_t> bytes(4 * count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t bits;
    if (floats) {
      float v = 0.25f + 0.5f * static_cast<float>((i * 2654435761u) % 1000u) / 1000.0f;
      if (has(name, "nan")) v = std::numeric_limits<float>::quiet_NaN();
      else if (has(name, "inf")) v = std::numeric_limits<float>::infinity();
      else if (has(name, "neg")) v = -0.5f;
      else if (has(name, "huge")) v = 3e38f;
      else if (has(name, "zero")) v = 0.0f;
      std::memcpy(&bits, &v, 4);
    } else {
      std::int32_t v = static_cast<std::int32_t>(i % 3);
      if (has(name, "neg")) v = -1;
      else if (has(name, "huge")) v = std::numeric_limits<std::int32_t>::max();
      else if (has(name, "zero")) v = 0;
      std::memcpy(&bits, &v, 4);
    }
    for (int k = 0; k < 4; ++k) bytes[4 * i + k] = static_cast<std::uint8_t>(bits >> (8 * k));  // little-endian
  }
  return bytes;
}

// prod(shape) if shape is a list of non-negative ints whose file fits the caps, else -1.
long long element_count(const json& entry) {
  if (!entry.contains("shape") || !entry["shape"].is_array()) return -1;
  long long count = 1;
  for (const json& size : entry["shape"]) {
    if (!size.is_number_integer() || size.get<long long>() < 0) return -1;
    const long long n = size.get<long long>();
    if (n && count > static_cast<long long>(kMaxFileBytes / 4) / n) return -1;
    count *= n;
  }
  return count;
}

Members bundle_files(const json& manifest) {
  Members files;
  std::size_t total = 0;
  const json& arrays = manifest.contains("arrays") ? manifest["arrays"] : json();
  if (arrays.is_object()) {
    for (const auto& item : arrays.items()) {
      const json& entry = item.value();
      if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string()) continue;
      const std::string file = entry["file"].get<std::string>();
      if (files.count(file) || file == "manifest.json") continue;  // the first array to name a file makes it
      const long long count = element_count(entry);
      const bool floats = entry.contains("dtype") && entry["dtype"] == "float32";
      if (count >= 0 && total + 4 * static_cast<std::size_t>(count) <= kMaxTotalBytes) {
        files[file] = array_file(file, floats, static_cast<std::size_t>(count));
      } else {
        files[file] = std::vector<std::uint8_t>(kMismatchBytes, 0);
      }
      total += files[file].size();
    }
  }
  const json& networks = manifest.contains("networks") ? manifest["networks"] : json();
  if (networks.is_object()) {
    for (const auto& item : networks.items()) {
      const json& entry = item.value();
      if (!entry.is_object() || !entry.contains("file") || !entry["file"].is_string()) continue;
      const std::string file = entry["file"].get<std::string>();
      static const char kOnnx[] = "not onnx: the native core never reads networks' files";
      if (!files.count(file) && file != "manifest.json") files[file].assign(kOnnx, kOnnx + sizeof kOnnx - 1);
    }
  }
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  int depth = 0;
  const json::parser_callback_t deepest = [&depth](int d, json::parse_event_t, json&) {
    depth = d > depth ? d : depth;
    return true;
  };
  json manifest = json::parse(data, data + size, deepest, /*allow_exceptions=*/false);
  Members members;
  if (manifest.is_object() && depth <= kMaxDepth) {
    members = bundle_files(manifest);
    json listed = json::object();
    for (const auto& [name, bytes] : members)
      listed[name] = {{"bytes", bytes.size()}, {"sha256", stylemm::sha256_hex(bytes.data(), bytes.size())}};
    manifest["files"] = std::move(listed);
    const std::string text = manifest.dump(-1, ' ', false, json::error_handler_t::replace);
    members["manifest.json"].assign(text.begin(), text.end());
  } else {
    members["manifest.json"].assign(data, data + size);
  }
  const std::vector<std::uint8_t> archive = stored_zip(members);
  fuzz::load_and_use(archive.data(), archive.size());
  return 0;
}
