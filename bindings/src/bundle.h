// Reading a StyleMM bundle, format v1 (docs/bundle-format.md): a directory or a .smm zip,
// its manifest, and its raw arrays, every file checked against the manifest's size and
// sha256 before use. The same checks as stylemm_runtime.bundle, so both readers accept and
// refuse the same bundles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stylemm {

constexpr int kFormatVersion = 1;  // a reader refuses a newer major version; minor versions only add

// A broken rule of bundle_rules.json; Bundle reports it as SMM_ERR_BAD_BUNDLE with its origin.
struct RuleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Bundle {
 public:
  // Both throw Error: SMM_ERR_IO when the path cannot be read, SMM_ERR_BAD_BUNDLE when the
  // content is wrong, SMM_ERR_VERSION for a newer format.
  static Bundle from_path(const std::string& path);
  static Bundle from_memory(const std::uint8_t* data, std::size_t size);

  const nlohmann::json& manifest() const { return manifest_; }
  bool has_array(const std::string& name) const;
  // The array `name` of the manifest, checked to be of `dtype` ("float32" or "int32") and of
  // `shape` (a -1 takes any size), finite if float. Its actual shape goes to `actual`.
  std::vector<float> floats(const std::string& name, const std::vector<long long>& shape,
                            std::vector<long long>* actual = nullptr) const;
  std::vector<std::int32_t> ints(const std::string& name, const std::vector<long long>& shape,
                                 std::vector<long long>* actual = nullptr) const;

 private:
  Bundle(std::string origin, std::map<std::string, std::vector<std::uint8_t>> files);
  void check_rules() const;
  const std::vector<std::uint8_t>& array_bytes(const std::string& name, const char* dtype,
                                               const std::vector<long long>& shape, std::vector<long long>& actual) const;

  std::string origin_;  // the path, or "<memory>", for messages
  nlohmann::json manifest_;
  std::map<std::string, std::vector<std::uint8_t>> files_;
};

}  // namespace stylemm
