// The engine-free part of the Unreal plugin (StyleMMRig) against the real stylemm.h and
// libstylemm, on a bundle written by hand (tiny_bundle.cpp). Unreal itself is not needed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "StyleMMRig.h"
#include "stylemm/stylemm.h"
#include "tiny_bundle.h"

namespace {

constexpr float kSentinel = -12345.0f;
const double kPi = 3.14159265358979323846;

bool AllSentinel(const std::vector<float>& Values) {
  for (float V : Values)
    if (std::memcmp(&V, &kSentinel, sizeof V) != 0) return false;
  return true;
}

// Rodrigues' formula: the rotation matrix (row-major, acting on column vectors) of an axis-angle.
std::vector<double> Rotation(const double* AxisAngle) {
  const double Angle = std::sqrt(AxisAngle[0] * AxisAngle[0] + AxisAngle[1] * AxisAngle[1] + AxisAngle[2] * AxisAngle[2]);
  std::vector<double> R = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  if (Angle == 0) return R;
  const double X = AxisAngle[0] / Angle, Y = AxisAngle[1] / Angle, Z = AxisAngle[2] / Angle;
  const double C = std::cos(Angle), S = std::sin(Angle), T = 1 - C;
  return {T * X * X + C,     T * X * Y - S * Z, T * X * Z + S * Y,  //
          T * X * Y + S * Z, T * Y * Y + C,     T * Y * Z - S * X,  //
          T * X * Z - S * Y, T * Y * Z + S * X, T * Z * Z + C};
}

std::vector<float> ToFloat(const std::vector<double>& Values) { return std::vector<float>(Values.begin(), Values.end()); }

// The map from glTF to Unreal axes that the plugin documents, as a matrix: UE = M g (without the 100).
const double kM[9] = {0, 0, 1, -1, 0, 0, 0, 1, 0};

// R_gltf = M^T R_ue M.
std::vector<double> GltfFromUnreal(const std::vector<double>& Rue) {
  std::vector<double> Out(9, 0.0);
  for (int I = 0; I < 3; ++I)
    for (int J = 0; J < 3; ++J)
      for (int K = 0; K < 3; ++K)
        for (int L = 0; L < 3; ++L) Out[3 * I + J] += kM[3 * K + I] * Rue[3 * K + L] * kM[3 * L + J];
  return Out;
}

struct LoadedTiny {
  TinyBundle::TempDir Temp;
  TinyBundle::Contents Contents;
  std::filesystem::path Dir;
  StyleMM::Rig Rig;

  explicit LoadedTiny(const TinyBundle::Options& Opts = TinyBundle::Options{}) {
    Dir = Temp.Path() / "tiny";
    Contents = TinyBundle::Write(Dir, Opts);
    const StyleMM::Result Loaded = Rig.Load(Dir.string());
    INFO(Loaded.Message);
    REQUIRE(Loaded.Ok());
  }
};

// The layout's promises, checked against the topology it came from, and against the split
// computed here independently: the distinct (position, UV vertex) pairs of the corners in
// sorted order (as stylemm-export's glTF made them with numpy before smm_split_uv_seams).
void CheckLayout(const StyleMM::RenderLayout& L, const std::vector<int>& Faces, const std::vector<int>& UvFaces,
                 const std::vector<float>& Uvs, int N) {
  std::set<std::pair<int, int>> Pairs;
  for (size_t Corner = 0; Corner < Faces.size(); ++Corner) Pairs.insert({Faces[Corner], UvFaces[Corner]});
  const std::vector<std::pair<int, int>> Reference(Pairs.begin(), Pairs.end());
  REQUIRE(L.Vertices == static_cast<int>(Reference.size()));
  REQUIRE(L.PositionOfVertex.size() == Reference.size());
  REQUIRE(L.UvOfVertex.size() == Reference.size());
  REQUIRE(L.Uvs.size() == 2 * Reference.size());
  REQUIRE(L.Triangles.size() == Faces.size());
  for (size_t I = 0; I < Reference.size(); ++I) {
    CHECK(L.PositionOfVertex[I] == Reference[I].first);
    CHECK(L.PositionOfVertex[I] < N);
    CHECK(L.UvOfVertex[I] == Reference[I].second);
    const size_t T = static_cast<size_t>(Reference[I].second);
    CHECK(L.Uvs[2 * I] == Uvs[2 * T]);
    CHECK(L.Uvs[2 * I + 1] == Uvs[2 * T + 1]);
  }
  // Every corner: the render vertex of its own (position, UV) pair.
  for (size_t Corner = 0; Corner < Faces.size(); ++Corner) {
    INFO("corner " << Corner);
    const auto Found = std::lower_bound(Reference.begin(), Reference.end(), std::make_pair(Faces[Corner], UvFaces[Corner]));
    CHECK(L.Triangles[Corner] == static_cast<int>(Found - Reference.begin()));
  }
}

}  // namespace

TEST_CASE("unreal rig: the library is the version of the header") {
  const StyleMM::Result Version = StyleMM::CheckLibraryVersion();
  INFO(Version.Message);
  CHECK(Version.Ok());
  CHECK(Version.Message.empty());
}

TEST_CASE("unreal rig: render layout of a topology") {
  // Two triangles sharing an edge, with a UV seam along it: positions 1 and 2 have two UV vertices each.
  const std::vector<int> Faces = {0, 1, 2, 2, 1, 3};
  const std::vector<int> UvFaces = {4, 0, 5, 1, 2, 3};
  const std::vector<float> Uvs = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f, 0.0f};
  StyleMM::RenderLayout L;

  SECTION("one render vertex per (position, UV vertex) pair, by position") {
    REQUIRE(StyleMM::BuildRenderLayout(L, Faces, UvFaces, Uvs, 4).Ok());
    CHECK(L.Vertices == 6);
    CHECK(L.PositionOfVertex == std::vector<int>{0, 1, 1, 2, 2, 3});
    CHECK(L.UvOfVertex == std::vector<int>{4, 0, 2, 1, 5, 3});
    CHECK(L.Triangles == std::vector<int>{0, 1, 4, 3, 2, 5});
    CheckLayout(L, Faces, UvFaces, Uvs, 4);
  }
  SECTION("a UV vertex shared by two positions gets a render vertex per position, an unused one none") {
    const std::vector<int> Shared = {4, 0, 5, 0, 1, 3};  // UV vertex 0 for positions 1 and 2; UV 2 unused
    REQUIRE(StyleMM::BuildRenderLayout(L, Faces, Shared, Uvs, 4).Ok());
    REQUIRE(L.Vertices == 6);
    CHECK(L.PositionOfVertex == std::vector<int>{0, 1, 1, 2, 2, 3});
    CHECK(L.UvOfVertex == std::vector<int>{4, 0, 1, 0, 5, 3});
    CheckLayout(L, Faces, Shared, Uvs, 4);
  }
  SECTION("indices out of range are a bad bundle, and leave the layout alone") {
    REQUIRE(StyleMM::BuildRenderLayout(L, Faces, UvFaces, Uvs, 4).Ok());
    const StyleMM::Result Bad = StyleMM::BuildRenderLayout(L, Faces, {4, 0, 6, 1, 2, 3}, Uvs, 4);
    CHECK(Bad.Status == SMM_ERR_BAD_BUNDLE);
    CHECK(Bad.Message.find("outside the 6 UV vertices") != std::string::npos);
    CHECK(StyleMM::BuildRenderLayout(L, {0, 1, 4, 2, 1, 3}, UvFaces, Uvs, 4).Status == SMM_ERR_BAD_BUNDLE);
    CHECK(StyleMM::BuildRenderLayout(L, {0, 1, -1, 2, 1, 3}, UvFaces, Uvs, 4).Status == SMM_ERR_BAD_BUNDLE);
    CHECK(StyleMM::BuildRenderLayout(L, {0, 1, 2}, UvFaces, Uvs, 4).Status == SMM_ERR_BAD_BUNDLE);
    CHECK(L.Vertices == 6);
  }
}

TEST_CASE("unreal rig: a loaded bundle's sizes and names and its render layout") {
  SECTION("seams only") {
    LoadedTiny T;
    const smm_model_info& Info = T.Rig.Info();
    CHECK(Info.vertices == T.Contents.N);
    CHECK(Info.triangles == T.Contents.F);
    CHECK(Info.uv_vertices == T.Contents.U);
    CHECK(Info.shape_dim == T.Contents.K);
    CHECK(Info.expressions == T.Contents.E);
    CHECK(Info.joints == T.Contents.J);
    CHECK(T.Rig.ExpressionNames() == T.Contents.ExpressionNames);
    CHECK(T.Rig.JointNames() == T.Contents.JointNames);
    CHECK(T.Rig.FindJoint("neck") == 1);
    CHECK(T.Rig.FindJoint("Neck") == -1);  // joint names are exact
    CheckLayout(T.Rig.Render(), T.Contents.Faces, T.Contents.UvFaces, T.Contents.Uvs, T.Contents.N);
  }
  SECTION("a UV vertex shared by two positions, and one unused") {
    TinyBundle::Options Opts;
    Opts.SharedUv = true;
    LoadedTiny T(Opts);
    CheckLayout(T.Rig.Render(), T.Contents.Faces, T.Contents.UvFaces, T.Contents.Uvs, T.Contents.N);
  }
}

TEST_CASE("unreal rig: curve names map to expressions") {
  SECTION("LiveLink's PascalCase names find the bundle's camelCase ARKit names") {
    const StyleMM::CurveMap Map({"jawOpen", "eyeBlinkLeft", "mouthSmileRight"});
    CHECK(Map.Find("jawOpen") == 0);
    CHECK(Map.Find("JawOpen") == 0);
    CHECK(Map.Find("EyeBlinkLeft") == 1);
    CHECK(Map.Find("MOUTHSMILERIGHT") == 2);
    CHECK(Map.Find("HeadYaw") == -1);  // Live Link Face's head rotation curves are not expressions
    CHECK(Map.Find("") == -1);
    CHECK(Map.Find("jawOpen ") == -1);
  }
  SECTION("names that differ only in case match exactly, never loosely") {
    const StyleMM::CurveMap Map({"a", "A", "b"});
    CHECK(Map.Find("a") == 0);
    CHECK(Map.Find("A") == 1);
    CHECK(Map.Find("B") == 2);
    const StyleMM::CurveMap Loose({"jawOpen", "JAWOPEN"});
    CHECK(Loose.Find("JawOpen") == -1);
  }
  SECTION("through a loaded rig") {
    LoadedTiny T;
    CHECK(T.Rig.FindExpression("JawOpen") == 0);
    CHECK(T.Rig.FindExpression("EyeBlinkLeft") == 1);
    CHECK(T.Rig.FindExpression("EyeBlinkRight") == -1);  // not in this bundle
  }
}

TEST_CASE("unreal rig: shapes from seeds are smm_sample_normal's") {
  const std::vector<float> A = StyleMM::SampleShape(42, 7);
  std::vector<float> Direct(7);
  REQUIRE(smm_sample_normal(Direct.data(), 42, 7) == SMM_OK);
  CHECK(A == Direct);  // the seed stream every sample and stylemm_runtime draw from
  CHECK(StyleMM::SampleShape(43, 7) != A);
  CHECK(StyleMM::SampleShape(42, 0).empty());
  CHECK(StyleMM::SampleShape(42, -1).empty());
  // Pinned (stylemm.h specifies the bits; tests/python/test_seeds.py pins the same values).
  const std::vector<float> Seven = StyleMM::SampleShape(7, 2);
  CHECK(Seven[0] == -0.0417415239f);
  CHECK(Seven[1] == -0.183080211f);
  CHECK(StyleMM::SampleShape(~0ull, 3).size() == 3);  // every uint64 is a seed
}

TEST_CASE("unreal rig: evaluation is smm_evaluate scattered to the render layout") {
  LoadedTiny T;
  StyleMM::Rig& Rig = T.Rig;
  REQUIRE(Rig.CreateCharacterFromSeed(5).Ok());
  const int N = Rig.Vertices(), R = Rig.RenderVertices();
  const std::vector<float> Weights = {0.7f, 1.0f, 0.25f};
  const std::vector<float> Pose = {0.05f, -0.1f, 0.02f, 0.2f, 0.1f, -0.3f};

  std::vector<float> Positions(3 * static_cast<size_t>(R), kSentinel), Normals(Positions);
  const StyleMM::Result Done =
      Rig.Evaluate(Weights.data(), 3, Pose.data(), 6, Positions.data(), Normals.data(), 3 * R);
  INFO(Done.Message);
  REQUIRE(Done.Ok());

  std::vector<float> Direct(3 * static_cast<size_t>(N)), DirectNormals(Direct);
  REQUIRE(smm_evaluate(Direct.data(), DirectNormals.data(), Rig.RawEvaluator(), Rig.RawCharacter(), Weights.data(), 3,
                       Pose.data(), 6, N) == SMM_OK);
  const StyleMM::RenderLayout& L = Rig.Render();
  for (int I = 0; I < R; ++I)
    for (int D = 0; D < 3; ++D) {
      const size_t From = 3 * static_cast<size_t>(L.PositionOfVertex[static_cast<size_t>(I)]) + static_cast<size_t>(D);
      const size_t To = 3 * static_cast<size_t>(I) + static_cast<size_t>(D);
      CHECK(Positions[To] == Direct[From]);  // bit for bit: the same computation
      CHECK(Normals[To] == DirectNormals[From]);
    }
  // The pose and the expression did something, and the normals are unit vectors.
  std::vector<float> Rest(Positions.size(), kSentinel);
  REQUIRE(Rig.Evaluate(nullptr, 0, nullptr, 0, Rest.data(), nullptr, 3 * R).Ok());
  CHECK(Rest != Positions);
  for (int I = 0; I < R; ++I) {
    const float* V = &Normals[3 * static_cast<size_t>(I)];
    CHECK(std::sqrt(V[0] * V[0] + V[1] * V[1] + V[2] * V[2]) == Approx(1.0f).margin(1e-5));
  }

  SECTION("no weights is the neutral face, no pose the rest pose") {
    const std::vector<float> Zeros(3, 0.0f);
    std::vector<float> Explicit(Positions.size(), kSentinel);
    REQUIRE(Rig.Evaluate(Zeros.data(), 3, nullptr, 0, Explicit.data(), nullptr, 3 * R).Ok());
    CHECK(Explicit == Rest);
  }
  SECTION("a seed is SampleShape(seed), the first K values of its stream, through the native deformer") {
    const std::vector<float> Shape = StyleMM::SampleShape(5, Rig.ShapeDim());
    std::vector<float> FromSeed(3 * static_cast<size_t>(N)), FromShape(FromSeed);
    REQUIRE(smm_character_get_neutral(FromSeed.data(), Rig.RawCharacter(), 3 * N) == SMM_OK);
    REQUIRE(Rig.CreateCharacter(Shape.data(), Rig.ShapeDim()).Ok());
    REQUIRE(smm_character_get_neutral(FromShape.data(), Rig.RawCharacter(), 3 * N) == SMM_OK);
    CHECK(FromSeed == FromShape);
    REQUIRE(Rig.CreateCharacterFromSeed(6).Ok());
    REQUIRE(smm_character_get_neutral(FromShape.data(), Rig.RawCharacter(), 3 * N) == SMM_OK);
    CHECK(FromSeed != FromShape);
  }
  SECTION("a character baked elsewhere animates the same way") {
    const int E = Rig.Expressions();
    std::vector<float> Neutral(3 * static_cast<size_t>(N)), Deltas(3 * static_cast<size_t>(N) * static_cast<size_t>(E));
    REQUIRE(smm_character_get_neutral(Neutral.data(), Rig.RawCharacter(), static_cast<int>(Neutral.size())) == SMM_OK);
    REQUIRE(smm_character_get_deltas(Deltas.data(), Rig.RawCharacter(), static_cast<int>(Deltas.size())) == SMM_OK);
    REQUIRE(Rig.CreateCharacterFromBake(Neutral.data(), Deltas.data(), static_cast<int>(Neutral.size() + Deltas.size()))
                .Ok());
    std::vector<float> Again(Positions.size(), kSentinel);
    REQUIRE(Rig.Evaluate(Weights.data(), 3, Pose.data(), 6, Again.data(), nullptr, 3 * R).Ok());
    for (size_t I = 0; I < Again.size(); ++I) CHECK(Again[I] == Approx(Positions[I]).margin(1e-6));
  }
}

TEST_CASE("unreal rig: errors come back with a status and a message") {
  StyleMM::Rig Rig;

  SECTION("a missing bundle is an I/O error") {
    const StyleMM::Result Missing = Rig.Load("/nonexistent/stylemm/none.smm");
    CHECK(Missing.Status == SMM_ERR_IO);
    CHECK_FALSE(Missing.Message.empty());
    CHECK(Missing.Message != smm_status_string(SMM_ERR_IO));  // the library's own words, not just the code's
    CHECK_FALSE(Rig.IsLoaded());
  }
  SECTION("a modified file is a bad bundle, and a failed load leaves nothing loaded") {
    LoadedTiny T;
    REQUIRE(T.Rig.CreateCharacterFromSeed(1).Ok());
    {
      std::fstream File(T.Dir / "faces.bin", std::ios::in | std::ios::out | std::ios::binary);
      File.seekp(0);
      File.put('\x01');
    }
    const StyleMM::Result Bad = T.Rig.Load(T.Dir.string());
    CHECK(Bad.Status == SMM_ERR_BAD_BUNDLE);
    CHECK_FALSE(Bad.Message.empty());
    CHECK_FALSE(T.Rig.IsLoaded());
    CHECK_FALSE(T.Rig.HasCharacter());
    CHECK(T.Rig.RenderVertices() == 0);
  }
  SECTION("memory that is not a .smm archive") {
    const std::string Junk = "definitely not a zip archive";
    const StyleMM::Result Bad = Rig.LoadFromMemory(Junk.data(), static_cast<long long>(Junk.size()));
    CHECK(Bad.Status == SMM_ERR_BAD_BUNDLE);
    CHECK_FALSE(Bad.Message.empty());
  }
  SECTION("nothing loaded, no character") {
    std::vector<float> Out(3, kSentinel);
    CHECK(Rig.CreateCharacterFromSeed(1).Status == SMM_ERR_NULL_POINTER);
    const StyleMM::Result NoCharacter = Rig.Evaluate(nullptr, 0, nullptr, 0, Out.data(), nullptr, 3);
    CHECK(NoCharacter.Status == SMM_ERR_NULL_POINTER);
    CHECK_FALSE(NoCharacter.Message.empty());
    CHECK(AllSentinel(Out));
  }
  SECTION("per-frame errors keep the outputs as they were") {
    LoadedTiny T;
    REQUIRE(T.Rig.CreateCharacterFromSeed(1).Ok());
    const int R = T.Rig.RenderVertices();
    std::vector<float> Out(3 * static_cast<size_t>(R), kSentinel), Normals(Out);
    std::vector<float> Weights = {0.1f, 0.2f, 0.3f};

    const StyleMM::Result Short = T.Rig.Evaluate(Weights.data(), 3, nullptr, 0, Out.data(), Normals.data(), 3 * R - 3);
    CHECK(Short.Status == SMM_ERR_SIZE);
    CHECK_FALSE(Short.Message.empty());

    const StyleMM::Result Count = T.Rig.Evaluate(Weights.data(), 2, nullptr, 0, Out.data(), Normals.data(), 3 * R);
    CHECK(Count.Status == SMM_ERR_SIZE);
    CHECK_FALSE(Count.Message.empty());  // smm_evaluator_message's words

    Weights[1] = std::numeric_limits<float>::quiet_NaN();
    const StyleMM::Result NaN = T.Rig.Evaluate(Weights.data(), 3, nullptr, 0, Out.data(), Normals.data(), 3 * R);
    CHECK(NaN.Status == SMM_ERR_NON_FINITE);
    CHECK_FALSE(NaN.Message.empty());

    CHECK(T.Rig.Evaluate(Weights.data(), 3, nullptr, 0, nullptr, nullptr, 3 * R).Status == SMM_ERR_NULL_POINTER);
    CHECK(AllSentinel(Out));
    CHECK(AllSentinel(Normals));

    Weights[1] = 0.2f;  // and the rig still works afterwards
    const StyleMM::Result Fine = T.Rig.Evaluate(Weights.data(), 3, nullptr, 0, Out.data(), Normals.data(), 3 * R);
    INFO(Fine.Message);
    CHECK(Fine.Ok());
    CHECK(Fine.Message.empty());
  }
  SECTION("a shape of the wrong size, and a failed bake keeps the character there was") {
    LoadedTiny T;
    const std::vector<float> Shape(5, 0.0f);
    const StyleMM::Result Wrong = T.Rig.CreateCharacter(Shape.data(), 5);
    CHECK(Wrong.Status == SMM_ERR_SIZE);
    CHECK_FALSE(Wrong.Message.empty());
    CHECK_FALSE(T.Rig.HasCharacter());

    REQUIRE(T.Rig.CreateCharacterFromSeed(2).Ok());
    const smm_character* Before = T.Rig.RawCharacter();
    CHECK(T.Rig.CreateCharacter(Shape.data(), 5).Status == SMM_ERR_SIZE);
    CHECK(T.Rig.RawCharacter() == Before);
    std::vector<float> Out(3 * static_cast<size_t>(T.Rig.RenderVertices()));
    CHECK(T.Rig.Evaluate(nullptr, 0, nullptr, 0, Out.data(), nullptr, static_cast<int>(Out.size())).Ok());
  }
}

TEST_CASE("unreal rig: glTF to Unreal coordinates") {
  SECTION("positions: metres to centimetres, the face looking along +X, +Z up, not mirrored") {
    const float Front[3] = {0, 0, 1}, Up[3] = {0, 1, 0}, CharacterLeft[3] = {1, 0, 0};
    float Out[3];
    StyleMM::UnrealFromGltfPosition(Out, Front);
    CHECK((Out[0] == 100 && Out[1] == 0 && Out[2] == 0));
    StyleMM::UnrealFromGltfPosition(Out, Up);
    CHECK((Out[0] == 0 && Out[1] == 0 && Out[2] == 100));
    // Unreal's +Y is the right of something facing +X, so the character's left is -Y.
    StyleMM::UnrealFromGltfPosition(Out, CharacterLeft);
    CHECK((Out[0] == 0 && Out[1] == -100 && Out[2] == 0));
    StyleMM::UnrealFromGltfDirection(Out, CharacterLeft);
    CHECK((Out[0] == 0 && Out[1] == -1 && Out[2] == 0));
  }
  SECTION("triangles keep their order: Unreal's front faces have (b - a) x (c - a) pointing inwards") {
    // A front face of the pyramid (counter-clockwise from outside, glTF) and its outward normal.
    const float A[3] = {-0.1f, 0.0f, 0.0f}, B[3] = {0.1f, 0.0f, 0.0f}, C[3] = {0.0f, 0.1f, 0.1f};
    const float Outward[3] = {0.0f, -0.02f, 0.02f};  // (B - A) x (C - A) in glTF axes
    float Ua[3], Ub[3], Uc[3], Un[3];
    StyleMM::UnrealFromGltfPosition(Ua, A);
    StyleMM::UnrealFromGltfPosition(Ub, B);
    StyleMM::UnrealFromGltfPosition(Uc, C);
    StyleMM::UnrealFromGltfDirection(Un, Outward);
    const float E1[3] = {Ub[0] - Ua[0], Ub[1] - Ua[1], Ub[2] - Ua[2]}, E2[3] = {Uc[0] - Ua[0], Uc[1] - Ua[1], Uc[2] - Ua[2]};
    const float Cross[3] = {E1[1] * E2[2] - E1[2] * E2[1], E1[2] * E2[0] - E1[0] * E2[2], E1[0] * E2[1] - E1[1] * E2[0]};
    // As in the ProceduralMeshComponent's GenerateBoxMesh: its +Z face (0, 1, 3) of
    // (-1, 1, 1), (1, 1, 1), (-1, -1, 1) has the normal +Z and (b - a) x (c - a) = (0, 0, -4).
    CHECK(Cross[0] * Un[0] + Cross[1] * Un[1] + Cross[2] * Un[2] < 0);
  }
  SECTION("rotations") {
    float AxisAngle[3];
    const std::vector<float> Identity = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    StyleMM::GltfAxisAngleFromUnrealRotation(AxisAngle, Identity.data());
    CHECK((AxisAngle[0] == 0 && AxisAngle[1] == 0 && AxisAngle[2] == 0));

    // Unreal yaw +90 degrees sends +X (forward) to +Y (right): the face turns to its right,
    // which in glTF is the front (+Z) going to -X: -90 degrees about glTF +Y.
    const std::vector<float> Yaw = {0, -1, 0, 1, 0, 0, 0, 0, 1};
    StyleMM::GltfAxisAngleFromUnrealRotation(AxisAngle, Yaw.data());
    CHECK(AxisAngle[0] == Approx(0).margin(1e-6));
    CHECK(AxisAngle[1] == Approx(-kPi / 2).margin(1e-6));
    CHECK(AxisAngle[2] == Approx(0).margin(1e-6));

    // Any rotation: the result is M^T R M (checked through Rodrigues), angles up to pi.
    std::mt19937 Engine(3);
    std::uniform_real_distribution<double> Uniform(-1.0, 1.0);
    for (int Trial = 0; Trial < 200; ++Trial) {
      double Axis[3] = {Uniform(Engine), Uniform(Engine), Uniform(Engine)};
      const double Length = std::sqrt(Axis[0] * Axis[0] + Axis[1] * Axis[1] + Axis[2] * Axis[2]);
      const double Angle = Trial == 0 ? kPi : (Trial == 1 ? 1e-9 : kPi * std::abs(Uniform(Engine)));
      for (double& A : Axis) A *= Angle / Length;
      const std::vector<double> Rue = Rotation(Axis);
      StyleMM::GltfAxisAngleFromUnrealRotation(AxisAngle, ToFloat(Rue).data());
      const double Got[3] = {AxisAngle[0], AxisAngle[1], AxisAngle[2]};
      const std::vector<double> Want = GltfFromUnreal(Rue), Back = Rotation(Got);
      INFO("trial " << Trial);
      for (int I = 0; I < 9; ++I) CHECK(Back[static_cast<size_t>(I)] == Approx(Want[static_cast<size_t>(I)]).margin(2e-6));
    }
  }
}
