#include "tiny_bundle.h"

#include "sha256.h"  // the core's own, tested against known digests in test_api.cpp

#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

#if defined(_WIN32)
#include <process.h>
#define TINY_BUNDLE_PID _getpid()
#else
#include <unistd.h>
#define TINY_BUNDLE_PID getpid()
#endif

namespace TinyBundle {
namespace {

// ---- Writing ----------------------------------------------------------------------------------

std::string Bytes(const std::vector<float>& Values) {
  static_assert(sizeof(float) == 4, "float32");
  std::string Out(Values.size() * 4, '\0');
  for (size_t I = 0; I < Values.size(); ++I) {
    std::uint32_t Bits;
    std::memcpy(&Bits, &Values[I], 4);
    for (int B = 0; B < 4; ++B) Out[4 * I + B] = static_cast<char>((Bits >> (8 * B)) & 0xff);  // little-endian
  }
  return Out;
}

std::string Bytes(const std::vector<int>& Values) {
  std::string Out(Values.size() * 4, '\0');
  for (size_t I = 0; I < Values.size(); ++I) {
    const std::uint32_t Bits = static_cast<std::uint32_t>(Values[I]);
    for (int B = 0; B < 4; ++B) Out[4 * I + B] = static_cast<char>((Bits >> (8 * B)) & 0xff);
  }
  return Out;
}

std::string Quoted(const std::string& Text) { return "\"" + Text + "\""; }

std::string JsonList(const std::vector<std::string>& Items, bool Quote) {
  std::string Out = "[";
  for (size_t I = 0; I < Items.size(); ++I) Out += (I ? ", " : "") + (Quote ? Quoted(Items[I]) : Items[I]);
  return Out + "]";
}

std::string ShapeJson(const std::vector<int>& Shape) {
  std::vector<std::string> Items;
  for (int S : Shape) Items.push_back(std::to_string(S));
  return JsonList(Items, false);
}

void WriteFile(const std::filesystem::path& Path, const std::string& Data) {
  std::ofstream Out(Path, std::ios::binary);
  Out.write(Data.data(), static_cast<std::streamsize>(Data.size()));
  if (!Out) throw std::runtime_error("cannot write " + Path.string());
}

class Writer {
 public:
  explicit Writer(std::filesystem::path InDir) : Dir(std::move(InDir)) {}

  void Array(const std::string& Name, const std::vector<float>& Values, const std::vector<int>& Shape) {
    Add(Name, Bytes(Values), "float32", Shape);
  }
  void Array(const std::string& Name, const std::vector<int>& Values, const std::vector<int>& Shape) {
    Add(Name, Bytes(Values), "int32", Shape);
  }
  void File(const std::string& Name, const std::string& Data) {
    WriteFile(Dir / Name, Data);
    Files.push_back(Quoted(Name) + ": {\"bytes\": " + std::to_string(Data.size()) + ", \"sha256\": " +
                    Quoted(Sha256Hex(Data)) + "}");
  }
  std::string ArraysJson() const { return "{" + Join(Arrays) + "}"; }
  std::string FilesJson() const { return "{" + Join(Files) + "}"; }

 private:
  void Add(const std::string& Name, const std::string& Data, const char* Dtype, const std::vector<int>& Shape) {
    const std::string FileName = Name + ".bin";
    File(FileName, Data);
    Arrays.push_back(Quoted(Name) + ": {\"file\": " + Quoted(FileName) + ", \"dtype\": " + Quoted(Dtype) +
                     ", \"shape\": " + ShapeJson(Shape) + "}");
  }
  static std::string Join(const std::vector<std::string>& Items) {
    std::string Out;
    for (size_t I = 0; I < Items.size(); ++I) Out += (I ? ",\n    " : "\n    ") + Items[I];
    return Out + "\n  ";
  }
  std::filesystem::path Dir;
  std::vector<std::string> Arrays, Files;
};

}  // namespace

std::string Sha256Hex(const std::string& Data) {
  return stylemm::sha256_hex(reinterpret_cast<const std::uint8_t*>(Data.data()), Data.size());
}

Contents Write(const std::filesystem::path& Dir, const Options& Opts) {
  if (!std::filesystem::create_directory(Dir)) throw std::runtime_error(Dir.string() + " exists");
  Contents C;
  C.N = 5, C.F = 6, C.U = 9, C.K = 3, C.E = 3, C.J = 2;
  // A pyramid: a 20 x 20 cm base in the z = 0 plane and its apex ("nose") 10 cm out along +Z.
  C.Template = {-0.1f, 0.0f, 0.0f,   0.1f, 0.0f, 0.0f,   0.1f, 0.2f, 0.0f,
                -0.1f, 0.2f, 0.0f,   0.0f, 0.1f, 0.1f};
  // Counter-clockwise seen from outside: four sides around the apex, two triangles at the back.
  C.Faces = {0, 1, 4,   1, 2, 4,   2, 3, 4,   3, 0, 4,   0, 3, 2,   0, 2, 1};
  // Front corners use UV vertices 6 2 8 0 4 (positions 0 1 2 3 4), the back 3 5 1 7 (positions 0 1 2 3):
  // a seam all round the base, and UV numbers unlike position numbers.
  C.UvFaces = {6, 2, 4,   2, 8, 4,   8, 0, 4,   0, 6, 4,   3, 7, 1,   3, 1, 5};
  if (Opts.SharedUv) C.UvFaces[17] = 7;  // position 1 takes position 3's UV vertex 7; UV vertex 5 is unused
  for (int T = 0; T < C.U; ++T) {
    C.Uvs.push_back(0.05f + 0.1f * static_cast<float>(T));
    C.Uvs.push_back(0.9f - 0.07f * static_cast<float>(T));
  }
  C.ExpressionNames = {"jawOpen", "eyeBlinkLeft", "mouthSmileRight"};
  C.JointNames = {"global", "neck"};

  std::mt19937 Engine(1234);
  std::normal_distribution<float> Normal(0.0f, 1.0f);  // test data only: no cross-platform promise needed
  const auto Random = [&](size_t Count, float Scale) {
    std::vector<float> Values(Count);
    for (float& V : Values) V = Scale * Normal(Engine);
    return Values;
  };

  Writer W(Dir);
  W.Array("template", C.Template, {C.N, 3});
  W.Array("faces", C.Faces, {C.F, 3});
  W.Array("uvs", C.Uvs, {C.U, 2});
  W.Array("uv_faces", C.UvFaces, {C.F, 3});
  W.Array("part_labels", std::vector<int>(static_cast<size_t>(C.N), 0), {C.N});
  // The base's front edge follows "global", the back edge both, the apex "neck".
  W.Array("skin_weights", std::vector<float>{1, 0, 1, 0, 0.5f, 0.5f, 0.5f, 0.5f, 0, 1}, {C.N, C.J});
  W.Array("joint_regressor", std::vector<float>{0.5f, 0.5f, 0, 0, 0, 0, 0, 0.5f, 0.5f, 0}, {C.J, C.N});
  W.Array("expression_bases", Random(static_cast<size_t>(C.E * C.N * 3), 0.01f), {C.E, C.N, 3});

  // The deformer (docs/bundle-format.md, "Deformer weights"): C_s = C_e = 3, H = 5, a SIREN
  // 3 -> 4 -> 3 (hidden 4, layers 1), so P = (4 * 3 + 4) + (3 * 4 + 3) = 31.
  const int Cs = 3, Ce = 3, Hh = 5, P = 31;
  W.Array("deformer.shape_encoder.0.weight", Random(static_cast<size_t>(Cs * C.K), 0.5f), {Cs, C.K});
  W.Array("deformer.shape_encoder.0.bias", Random(Cs, 0.1f), {Cs});
  W.Array("deformer.shape_encoder.2.weight", Random(static_cast<size_t>(Cs * Cs), 0.5f), {Cs, Cs});
  W.Array("deformer.shape_encoder.2.bias", Random(Cs, 0.1f), {Cs});
  W.Array("deformer.expression_encoder.0.weight", Random(static_cast<size_t>(Ce * C.E), 0.5f), {Ce, C.E});
  W.Array("deformer.expression_encoder.0.bias", Random(Ce, 0.1f), {Ce});
  W.Array("deformer.expression_encoder.2.weight", Random(static_cast<size_t>(Ce * Ce), 0.5f), {Ce, Ce});
  W.Array("deformer.expression_encoder.2.bias", Random(Ce, 0.1f), {Ce});
  W.Array("deformer.hyper.0.weight", Random(static_cast<size_t>(Hh * (Cs + Ce)), 0.5f), {Hh, Cs + Ce});
  W.Array("deformer.hyper.0.bias", Random(Hh, 0.1f), {Hh});
  W.Array("deformer.hyper.2.weight", Random(static_cast<size_t>(P * Hh), 0.05f), {P, Hh});
  W.Array("deformer.hyper.2.bias", Random(P, 0.02f), {P});
  W.Array("deformer.template", C.Template, {C.N, 3});
  W.Array("deformer.centre", std::vector<float>{0.0f, 0.1f, 0.05f}, {3});
  W.Array("deformer.scale", std::vector<float>{0.1f}, {1});
  // The ONNX files are listed and checksummed like any file; the native core does not run them.
  W.File("deformer.onnx", "not an ONNX model: the native core evaluates the deformer.* arrays");
  W.File("texture.onnx", "not an ONNX model");

  std::ostringstream M;
  M << "{\n"
    << "  \"format\": \"stylemm-bundle\",\n  \"format_version\": 1,\n"
    << "  \"style\": \"tiny\",\n  \"prompt\": null,\n  \"source_model\": \"pyramid\",\n"
    << "  \"created_by\": \"tests/cpp/tiny_bundle.cpp\",\n"
    << "  \"units\": \"metres, +Y up, +Z towards the viewer (glTF)\",\n"
    << "  \"mesh\": {\"vertices\": " << C.N << ", \"triangles\": " << C.F << ", \"uv_vertices\": " << C.U << "},\n"
    << "  \"parameters\": {\n"
    << "    \"shape\": {\"dim\": " << C.K << ", \"distribution\": \"standard normal\"},\n"
    << "    \"expression\": {\"names\": " << JsonList(C.ExpressionNames, true) << ", \"range\": [0, 1]},\n"
    << "    \"pose\": {\"joints\": " << JsonList(C.JointNames, true)
    << ", \"form\": \"axis-angle, radians, local to the parent\"},\n"
    << "    \"texture_z\": {\"dim\": 4, \"distribution\": \"standard normal\"}\n  },\n"
    << "  \"joints\": {\"names\": " << JsonList(C.JointNames, true) << ", \"parents\": [-1, 0]},\n"
    << "  \"parts\": [\"head\"],\n"
    << "  \"arrays\": " << W.ArraysJson() << ",\n"
    << "  \"networks\": {\n"
    << "    \"deformer\": {\"file\": \"deformer.onnx\", \"opset\": 15, \"inputs\": {\"shape\": [\"B\", " << C.K
    << "], \"expression\": [\"B\", " << C.E << "]}, \"outputs\": {\"vertices\": [\"B\", " << C.N << ", 3]},\n"
    << "                 \"native\": {\"hidden\": 4, \"layers\": 1, \"w0\": 30.0, \"shape_code\": " << Cs
    << ", \"expression_code\": " << Ce << ", \"hyper_hidden\": " << Hh << ", \"activation\": \"silu\"}},\n"
    << "    \"texture\": {\"file\": \"texture.onnx\", \"opset\": 15, \"inputs\": {\"z\": [\"B\", 4], \"truncation\": [1]},"
    << " \"outputs\": {\"texture\": [\"B\", 3, 8, 16]}}\n  },\n"
    << "  \"files\": " << W.FilesJson() << "\n}\n";
  WriteFile(Dir / "manifest.json", M.str());
  return C;
}

TempDir::TempDir() {
  static std::atomic<int> Counter{0};
  const std::filesystem::path Base = std::filesystem::temp_directory_path();
  for (int Attempt = 0; Attempt < 100; ++Attempt) {
    Root = Base / ("stylemm-test-" + std::to_string(TINY_BUNDLE_PID) + "-" + std::to_string(Counter++));
    if (std::filesystem::create_directory(Root)) return;
  }
  throw std::runtime_error("cannot make a temporary directory under " + Base.string());
}

TempDir::~TempDir() {
  std::error_code Ignored;
  std::filesystem::remove_all(Root, Ignored);
}

}  // namespace TinyBundle
