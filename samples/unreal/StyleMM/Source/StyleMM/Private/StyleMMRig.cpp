// The engine-free core of the StyleMM Unreal plugin (see StyleMMRig.h). Plain C++17: no
// Unreal header, no exceptions, no allocation in Rig::Evaluate().
#include "StyleMMRig.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

namespace StyleMM {
namespace RigDetail {  // named, not anonymous: Unreal's unity builds paste .cpp files together

constexpr int kErrorBytes = 1024;

std::string VersionString(int Packed) {
  char Text[48];
  std::snprintf(Text, sizeof Text, "%d.%d.%d", Packed / 10000, Packed / 100 % 100, Packed % 100);
  return Text;
}

std::string Describe(smm_status Status, const char* Message) {
  if (Message != nullptr && Message[0] != '\0') return Message;
  return smm_status_string(Status);
}

std::string FoldCase(std::string_view Name) {
  std::string Folded(Name);
  for (char& C : Folded)
    if (C >= 'A' && C <= 'Z') C = static_cast<char>(C - 'A' + 'a');
  return Folded;
}

// A name from one of the C ABI's name getters; grows the buffer if a name is long.
template <typename Getter>
smm_status ReadName(std::string& Out, Getter Get, const smm_model* Model, int Index) {
  std::vector<char> Buffer(64);
  for (;;) {
    const smm_status Status = Get(Buffer.data(), Model, Index, static_cast<int>(Buffer.size()));
    if (Status == SMM_ERR_SIZE && Buffer.size() < (1u << 16)) {
      Buffer.resize(Buffer.size() * 4);
      continue;
    }
    if (Status == SMM_OK) Out.assign(Buffer.data());
    return Status;
  }
}

}  // namespace RigDetail

Result Result::Failure(smm_status InStatus, std::string InMessage) {
  Result Out;
  Out.Status = InStatus == SMM_OK ? SMM_ERR_INVALID_ARGUMENT : InStatus;
  Out.Message = std::move(InMessage);
  return Out;
}

Result CheckLibraryVersion() {
  const smm_status Status = smm_check_version(STYLEMM_VERSION);
  if (Status == SMM_OK) return Result::Success();
  return Result::Failure(Status, "libstylemm is version " + RigDetail::VersionString(smm_version()) +
                                     ", but this code was compiled against stylemm.h " +
                                     RigDetail::VersionString(STYLEMM_VERSION) +
                                     ": use the library and the header of the same release");
}

// ---- Render layout ------------------------------------------------------------------------

Result BuildRenderLayout(RenderLayout& Out, const std::vector<int>& Faces, const std::vector<int>& UvFaces,
                         const std::vector<float>& Uvs, int N) {
  if (Faces.size() != UvFaces.size() || Faces.size() % 3 != 0 || Faces.empty() || Uvs.size() % 2 != 0 || N <= 0)
    return Result::Failure(SMM_ERR_BAD_BUNDLE, "faces and uv_faces must both be (F, 3) with F > 0, and uvs (U, 2)");
  const int F = static_cast<int>(Faces.size() / 3), U = static_cast<int>(Uvs.size() / 2);
  // The core's split, which the Unity sample and the glTF export use too: first the count, then the maps.
  RenderLayout Layout;
  smm_status Status = smm_split_uv_seams(&Layout.Vertices, nullptr, nullptr, nullptr, Faces.data(), UvFaces.data(), F,
                                         N, U, 0);
  if (Status == SMM_OK) {
    Layout.PositionOfVertex.resize(static_cast<size_t>(Layout.Vertices));
    Layout.UvOfVertex.resize(static_cast<size_t>(Layout.Vertices));
    Layout.Triangles.resize(Faces.size());
    Status = smm_split_uv_seams(&Layout.Vertices, Layout.PositionOfVertex.data(), Layout.UvOfVertex.data(),
                                Layout.Triangles.data(), Faces.data(), UvFaces.data(), F, N, U, Layout.Vertices);
  }
  if (Status == SMM_ERR_INVALID_ARGUMENT)
    return Result::Failure(SMM_ERR_BAD_BUNDLE, "faces index outside the " + std::to_string(N) +
                                                   " vertices, or uv_faces outside the " + std::to_string(U) +
                                                   " UV vertices");
  if (Status != SMM_OK) return Result::Failure(Status, RigDetail::Describe(Status, ""));
  Layout.Uvs.resize(2 * static_cast<size_t>(Layout.Vertices));
  for (size_t I = 0; I < Layout.UvOfVertex.size(); ++I) {
    const size_t T = static_cast<size_t>(Layout.UvOfVertex[I]);
    Layout.Uvs[2 * I] = Uvs[2 * T];
    Layout.Uvs[2 * I + 1] = Uvs[2 * T + 1];
  }
  Out = std::move(Layout);
  return Result::Success();
}

void ScatterToRender(float* Out, const float* In, const RenderLayout& Layout) noexcept {
  const int* Position = Layout.PositionOfVertex.data();
  for (int I = 0; I < Layout.Vertices; ++I) {
    const float* From = In + 3 * static_cast<size_t>(Position[I]);
    float* To = Out + 3 * static_cast<size_t>(I);
    To[0] = From[0];
    To[1] = From[1];
    To[2] = From[2];
  }
}

// ---- Curve names --------------------------------------------------------------------------

CurveMap::CurveMap(const std::vector<std::string>& ExpressionNames) {
  for (size_t I = 0; I < ExpressionNames.size(); ++I) {
    const int Index = static_cast<int>(I);
    Exact.emplace(ExpressionNames[I], Index);
    const auto Inserted = Folded.emplace(RigDetail::FoldCase(ExpressionNames[I]), Index);
    if (!Inserted.second) Inserted.first->second = -1;  // two names differ only in case: no guessing
  }
}

int CurveMap::Find(std::string_view Name) const {
  const auto Hit = Exact.find(std::string(Name));
  if (Hit != Exact.end()) return Hit->second;
  const auto Loose = Folded.find(RigDetail::FoldCase(Name));
  return Loose == Folded.end() ? -1 : Loose->second;
}

// ---- Seeds --------------------------------------------------------------------------------

std::vector<float> SampleShape(std::uint64_t Seed, int Dim) {
  std::vector<float> Shape(Dim > 0 ? static_cast<size_t>(Dim) : 0);
  smm_sample_normal(Shape.data(), Seed, static_cast<int>(Shape.size()));  // cannot fail: a buffer of Dim >= 0 floats
  return Shape;
}

// ---- Coordinates --------------------------------------------------------------------------

void GltfAxisAngleFromUnrealRotation(float* OutAxisAngle, const float* UnrealRowMajor3x3) noexcept {
  // M sends glTF coordinates to Unreal ones (without the 100): UE = M g, M = [[0,0,1],[-1,0,0],[0,1,0]].
  static const double M[3][3] = {{0, 0, 1}, {-1, 0, 0}, {0, 1, 0}};
  double RM[3][3], R[3][3];  // RM = R_ue M; R = M^T R_ue M
  for (int I = 0; I < 3; ++I)
    for (int J = 0; J < 3; ++J) {
      double Sum = 0;
      for (int K = 0; K < 3; ++K) Sum += static_cast<double>(UnrealRowMajor3x3[3 * I + K]) * M[K][J];
      RM[I][J] = Sum;
    }
  for (int I = 0; I < 3; ++I)
    for (int J = 0; J < 3; ++J) {
      double Sum = 0;
      for (int K = 0; K < 3; ++K) Sum += M[K][I] * RM[K][J];
      R[I][J] = Sum;
    }
  // Rotation matrix -> unit quaternion (w, x, y, z), branching on the largest term so that no
  // division is by a small number (Shepperd), then -> axis * angle with the angle in [0, pi].
  double W, X, Y, Z;
  const double Trace = R[0][0] + R[1][1] + R[2][2];
  if (Trace > 0) {
    const double S = 2 * std::sqrt(Trace + 1);
    W = S / 4, X = (R[2][1] - R[1][2]) / S, Y = (R[0][2] - R[2][0]) / S, Z = (R[1][0] - R[0][1]) / S;
  } else if (R[0][0] > R[1][1] && R[0][0] > R[2][2]) {
    const double S = 2 * std::sqrt(1 + R[0][0] - R[1][1] - R[2][2]);
    W = (R[2][1] - R[1][2]) / S, X = S / 4, Y = (R[0][1] + R[1][0]) / S, Z = (R[0][2] + R[2][0]) / S;
  } else if (R[1][1] > R[2][2]) {
    const double S = 2 * std::sqrt(1 + R[1][1] - R[0][0] - R[2][2]);
    W = (R[0][2] - R[2][0]) / S, X = (R[0][1] + R[1][0]) / S, Y = S / 4, Z = (R[1][2] + R[2][1]) / S;
  } else {
    const double S = 2 * std::sqrt(1 + R[2][2] - R[0][0] - R[1][1]);
    W = (R[1][0] - R[0][1]) / S, X = (R[0][2] + R[2][0]) / S, Y = (R[1][2] + R[2][1]) / S, Z = S / 4;
  }
  if (W < 0) W = -W, X = -X, Y = -Y, Z = -Z;
  const double Sine = std::sqrt(X * X + Y * Y + Z * Z);
  // angle = 2 atan2(|v|, w); axis * angle = v * angle / |v|, which tends to 2 v as |v| -> 0.
  const double Scale = Sine < 1e-12 ? 2.0 : 2.0 * std::atan2(Sine, W) / Sine;
  OutAxisAngle[0] = static_cast<float>(X * Scale);
  OutAxisAngle[1] = static_cast<float>(Y * Scale);
  OutAxisAngle[2] = static_cast<float>(Z * Scale);
}

// ---- The rig ------------------------------------------------------------------------------

void Rig::Reset() noexcept {
  Character.reset();
  Evaluator.reset();
  Model.reset();
  ModelInfo = smm_model_info{};
  Layout = RenderLayout{};
  ExpressionNameList.clear();
  JointNameList.clear();
  Curves = CurveMap{};
  ScratchPositions.clear();
  ScratchNormals.clear();
  NeutralWeights.clear();
}

Result Rig::Load(const std::string& Path, int Threads) {
  Reset();
  char Error[RigDetail::kErrorBytes] = "";
  smm_model* Raw = nullptr;
  const smm_status Status = smm_model_load(&Raw, Path.c_str(), Error, static_cast<int>(sizeof Error));
  Model.reset(Raw);
  if (Status != SMM_OK) {
    Reset();
    return Result::Failure(Status, RigDetail::Describe(Status, Error));
  }
  return Finish(Threads);
}

Result Rig::LoadFromMemory(const void* Data, long long Size, int Threads) {
  Reset();
  char Error[RigDetail::kErrorBytes] = "";
  smm_model* Raw = nullptr;
  const smm_status Status = smm_model_load_memory(&Raw, Data, Size, Error, static_cast<int>(sizeof Error));
  Model.reset(Raw);
  if (Status != SMM_OK) {
    Reset();
    return Result::Failure(Status, RigDetail::Describe(Status, Error));
  }
  return Finish(Threads);
}

// After a model loaded: its sizes, an evaluator, the render layout, names and scratch memory.
Result Rig::Finish(int Threads) {
  Result Out = FinishSteps(Threads);
  if (!Out.Ok()) Reset();
  return Out;
}

Result Rig::FinishSteps(int Threads) {
  smm_status Status = smm_model_get_info(&ModelInfo, Model.get());
  if (Status != SMM_OK) return Result::Failure(Status, "reading the model's sizes: " + RigDetail::Describe(Status, ""));

  char Error[RigDetail::kErrorBytes] = "";
  smm_evaluator* RawEvaluator = nullptr;
  Status = smm_evaluator_create(&RawEvaluator, Model.get(), Threads, Error, static_cast<int>(sizeof Error));
  Evaluator.reset(RawEvaluator);
  if (Status != SMM_OK) return Result::Failure(Status, RigDetail::Describe(Status, Error));

  const int N = ModelInfo.vertices, F = ModelInfo.triangles, U = ModelInfo.uv_vertices;
  std::vector<int> Faces(3 * static_cast<size_t>(F)), UvFaces(3 * static_cast<size_t>(F));
  std::vector<float> Uvs(2 * static_cast<size_t>(U));
  if ((Status = smm_model_get_faces(Faces.data(), Model.get(), static_cast<int>(Faces.size()))) != SMM_OK ||
      (Status = smm_model_get_uv_faces(UvFaces.data(), Model.get(), static_cast<int>(UvFaces.size()))) != SMM_OK ||
      (Status = smm_model_get_uvs(Uvs.data(), Model.get(), static_cast<int>(Uvs.size()))) != SMM_OK)
    return Result::Failure(Status, "reading the model's topology: " + RigDetail::Describe(Status, ""));
  Result Built = BuildRenderLayout(Layout, Faces, UvFaces, Uvs, N);
  if (!Built.Ok()) return Built;

  ExpressionNameList.resize(static_cast<size_t>(ModelInfo.expressions));
  for (int I = 0; I < ModelInfo.expressions; ++I)
    if ((Status = RigDetail::ReadName(ExpressionNameList[static_cast<size_t>(I)], smm_model_get_expression_name,
                                      Model.get(), I)) != SMM_OK)
      return Result::Failure(Status, "reading expression name " + std::to_string(I));
  JointNameList.resize(static_cast<size_t>(ModelInfo.joints));
  for (int I = 0; I < ModelInfo.joints; ++I)
    if ((Status = RigDetail::ReadName(JointNameList[static_cast<size_t>(I)], smm_model_get_joint_name, Model.get(),
                                      I)) != SMM_OK)
      return Result::Failure(Status, "reading joint name " + std::to_string(I));
  Curves = CurveMap(ExpressionNameList);

  ScratchPositions.assign(3 * static_cast<size_t>(N), 0.0f);
  ScratchNormals.assign(3 * static_cast<size_t>(N), 0.0f);
  NeutralWeights.assign(static_cast<size_t>(ModelInfo.expressions), 0.0f);
  return Result::Success();
}

Result Rig::EvaluatorFailure(smm_status Status) const {
  return Result::Failure(Status, RigDetail::Describe(Status, smm_evaluator_message(Evaluator.get())));
}

Result Rig::CreateCharacter(const float* Shape, int ShapeDimension) {
  if (!Model) return Result::Failure(SMM_ERR_NULL_POINTER, "no bundle loaded: call Load() first");
  smm_character* Raw = nullptr;
  const smm_status Status = smm_character_create(&Raw, Evaluator.get(), Shape, ShapeDimension, nullptr, 0);
  if (Status != SMM_OK) return EvaluatorFailure(Status);  // the previous character, if any, stays
  Character.reset(Raw);
  return Result::Success();
}

Result Rig::CreateCharacterFromSeed(std::uint64_t Seed) {
  if (!Model) return Result::Failure(SMM_ERR_NULL_POINTER, "no bundle loaded: call Load() first");
  const std::vector<float> Shape = SampleShape(Seed, ModelInfo.shape_dim);
  return CreateCharacter(Shape.data(), static_cast<int>(Shape.size()));
}

Result Rig::CreateCharacterFromBake(const float* Neutral, const float* Deltas, int NumValues) {
  if (!Model) return Result::Failure(SMM_ERR_NULL_POINTER, "no bundle loaded: call Load() first");
  smm_character* Raw = nullptr;
  const smm_status Status = smm_character_create_baked(&Raw, Evaluator.get(), Neutral, Deltas, NumValues);
  if (Status != SMM_OK) return EvaluatorFailure(Status);  // the previous character, if any, stays
  Character.reset(Raw);
  return Result::Success();
}

Result Rig::Evaluate(const float* Weights, int NumWeights, const float* Pose, int NumPose, float* OutPositions,
                     float* OutNormals, int NumValues) {
  if (!Character)
    return Result::Failure(SMM_ERR_NULL_POINTER, "no character: call Load() and then CreateCharacter*() first");
  if (OutPositions == nullptr) return Result::Failure(SMM_ERR_NULL_POINTER, "OutPositions is NULL");
  if (NumValues != 3 * Layout.Vertices)
    return Result::Failure(SMM_ERR_SIZE, "the output buffers hold " + std::to_string(NumValues) + " values, not 3 * " +
                                             std::to_string(Layout.Vertices) + " render vertices");
  if (Weights == nullptr && NumWeights == 0) {
    Weights = NeutralWeights.data();
    NumWeights = static_cast<int>(NeutralWeights.size());
  }
  const smm_status Status =
      smm_evaluate(ScratchPositions.data(), OutNormals != nullptr ? ScratchNormals.data() : nullptr, Evaluator.get(),
                   Character.get(), Weights, NumWeights, Pose, NumPose, ModelInfo.vertices);
  if (Status != SMM_OK) return EvaluatorFailure(Status);
  ScatterToRender(OutPositions, ScratchPositions.data(), Layout);
  if (OutNormals != nullptr) ScatterToRender(OutNormals, ScratchNormals.data(), Layout);
  return Result::Success();
}

int Rig::FindJoint(std::string_view JointName) const noexcept {
  for (size_t I = 0; I < JointNameList.size(); ++I)
    if (JointNameList[I] == JointName) return static_cast<int>(I);
  return -1;
}

}  // namespace StyleMM
