// A small StyleMM bundle written by hand (docs/bundle-format.md): manifest.json, raw
// little-endian arrays, sha256 of every file, and the deformer's weights for native evaluation.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace TinyBundle {

// Lower-case hex SHA-256 of bytes, for the manifest's file list (the core's stylemm::sha256_hex).
std::string Sha256Hex(const std::string& Bytes);

struct Options {
  // Let two positions share one UV vertex (as mirrored UV islands do) and leave one UV
  // vertex unused: the render layout's two corner cases.
  bool SharedUv = false;
};

// What was written, for the tests to compare against.
struct Contents {
  int N = 0, F = 0, U = 0, K = 0, E = 0, J = 0;
  std::vector<float> Template;   // (N, 3)
  std::vector<int> Faces;        // (F, 3)
  std::vector<int> UvFaces;      // (F, 3)
  std::vector<float> Uvs;        // (U, 2)
  std::vector<std::string> ExpressionNames, JointNames;
};

// Writes a bundle directory at Dir (created; must not exist yet). A 5-vertex pyramid whose apex
// looks along glTF +Z, 6 triangles, 9 UV vertices numbered unlike the positions; K = 3 shape
// values, E = 3 ARKit expressions, J = 2 joints ("global", "neck").
Contents Write(const std::filesystem::path& Dir, const Options& Opts = Options{});

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& Path() const { return Root; }

 private:
  std::filesystem::path Root;
};

}  // namespace TinyBundle
