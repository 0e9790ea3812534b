// The engine-free core of the StyleMM Unreal plugin: plain C++17 over the C ABI
// (stylemm/stylemm.h), with no Unreal header, so it compiles and is tested outside the
// engine (samples/unreal/tests). UStyleMMComponent is a thin layer over it.
//
// What it adds to the C ABI:
//  - RAII owners of the three handles, destroyed in the order the ABI needs
//    (character, evaluator, model);
//  - the render layout: engines want one vertex per (position, UV) pair, the bundle has N
//    position vertices and U >= N UV vertices (seams split vertices): smm_split_uv_seams;
//  - ARKit curve names (LiveLink's "JawOpen") -> expression indices ("jawOpen");
//  - one Evaluate() per frame that writes render-layout positions and normals into
//    buffers the caller allocated once;
//  - the glTF -> Unreal conversion of positions, directions and rotations.
//
// Nothing here throws or catches (Unreal builds without exceptions); errors come back as a
// Result. Allocation happens when loading and creating characters, never in Evaluate().
// A Rig owns one smm_evaluator, so use a Rig from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stylemm/stylemm.h"

namespace StyleMM {

// The outcome of a fallible call: a status from stylemm.h and, on failure, why.
struct Result {
  smm_status Status = SMM_OK;
  std::string Message;  // empty on success (so a successful call allocates nothing)

  bool Ok() const noexcept { return Status == SMM_OK; }
  static Result Success() noexcept { return Result{}; }
  static Result Failure(smm_status InStatus, std::string InMessage);
};

// SMM_OK if the loaded libstylemm can serve a caller compiled against this stylemm.h.
Result CheckLibraryVersion();

// ---- Handles ------------------------------------------------------------------------------

struct ModelDeleter {
  void operator()(smm_model* Model) const noexcept { smm_model_destroy(Model); }
};
struct EvaluatorDeleter {
  void operator()(smm_evaluator* Evaluator) const noexcept { smm_evaluator_destroy(Evaluator); }
};
struct CharacterDeleter {
  void operator()(smm_character* Character) const noexcept { smm_character_destroy(Character); }
};
using ModelPtr = std::unique_ptr<smm_model, ModelDeleter>;
using EvaluatorPtr = std::unique_ptr<smm_evaluator, EvaluatorDeleter>;
using CharacterPtr = std::unique_ptr<smm_character, CharacterDeleter>;

// ---- Render layout ------------------------------------------------------------------------

// The bundle's mesh split at UV seams by the core (smm_split_uv_seams, the split the Unity
// sample and stylemm-export's glTF use too): one render vertex per distinct (position, UV
// vertex) pair that a corner uses, ordered by position, then UV vertex. Triangles keep the
// bundle's corner order.
struct RenderLayout {
  int Vertices = 0;                   // R
  std::vector<int> PositionOfVertex;  // (R): render vertex -> position vertex (0..N-1)
  std::vector<int> UvOfVertex;        // (R): render vertex -> UV vertex (0..U-1)
  std::vector<float> Uvs;             // (R, 2): texture coordinates, origin at the top-left
  std::vector<int> Triangles;         // (F, 3): indices into the render vertices
};

// The layout of a mesh from its topology: faces and uv_faces (F, 3), uvs (U, 2). N is the
// number of position vertices. Fails with SMM_ERR_BAD_BUNDLE if an index is out of range.
Result BuildRenderLayout(RenderLayout& Out, const std::vector<int>& Faces, const std::vector<int>& UvFaces,
                         const std::vector<float>& Uvs, int N);

// out[i] = in[PositionOfVertex[i]] for 3-vectors: (N, 3) -> (R, 3).
void ScatterToRender(float* Out, const float* In, const RenderLayout& Layout) noexcept;

// ---- Curve names --------------------------------------------------------------------------

// Curve name -> expression index. ARKit names are camelCase ("jawOpen"); LiveLink's ARKit
// subjects (Live Link Face, AppleARKitFaceSupport) name their curves after Unreal's
// EARFaceBlendShape enumerators, which are PascalCase ("JawOpen"). So a name matches exactly,
// or else ignoring ASCII case if that is unambiguous among the expression names.
class CurveMap {
 public:
  CurveMap() = default;
  explicit CurveMap(const std::vector<std::string>& ExpressionNames);

  // The expression index of Name, or -1 (unknown, e.g. LiveLink's "HeadYaw", or ambiguous).
  int Find(std::string_view Name) const;

 private:
  std::unordered_map<std::string, int> Exact;
  std::unordered_map<std::string, int> Folded;  // lower-case name -> index, or -1 if two collide
};

// ---- Seeds --------------------------------------------------------------------------------

// Dim values ~ N(0, 1) from a seed: smm_sample_normal, the same bits on every platform, so a
// seed is the same character here as in stylemm_runtime's character(seed=...) and the Unity
// sample (the shape is the first K values of the seed's stream, texture_z the next Z).
std::vector<float> SampleShape(std::uint64_t Seed, int Dim);

// ---- Coordinates --------------------------------------------------------------------------
//
// The bundle uses glTF axes: metres, right-handed, +Y up, +Z out of the face (the face looks
// along +Z), +X towards the character's left. Unreal: centimetres, left-handed, +Z up,
// +X forward, +Y right. The plugin makes the face look along the component's +X (so an
// actor's forward is where the face looks, and FRotator yaw / pitch / roll mean shake / nod /
// tilt):
//
//     UE = 100 * (z, -x, y)        glTF = (-UE.y, UE.z, UE.x) / 100
//
// glTF front -> UE +X, glTF up -> UE +Z, the character's left (glTF +X) -> UE -Y, which is
// the left in Unreal too: the face is not mirrored. As a matrix the map has determinant -1,
// as it must between a right- and a left-handed frame. Triangle order stays as it is: a
// triangle's winding seen from outside is a physical fact that a change of coordinates
// keeps, and Unreal, like glTF, draws triangles counter-clockwise as seen from their front
// (numerically, in Unreal coordinates, (b - a) x (c - a) of a front face points inwards:
// see GenerateBoxMesh of the ProceduralMeshComponent plugin, and Epic's glTF importer, which
// swaps Y and Z without reversing triangles). Normals map like positions, without the 100.
//
// (The tempting UE = 100 * (z, x, y) has determinant +1: it mirrors the face left to right,
// and then needs reversed triangles to be drawn at all; eyeBlinkLeft would close the eye
// on the character's right.)

inline void UnrealFromGltfPosition(float* Out, const float* Gltf) noexcept {
  const float X = Gltf[0], Y = Gltf[1], Z = Gltf[2];
  Out[0] = 100.0f * Z;
  Out[1] = -100.0f * X;
  Out[2] = 100.0f * Y;
}

inline void UnrealFromGltfDirection(float* Out, const float* Gltf) noexcept {
  const float X = Gltf[0], Y = Gltf[1], Z = Gltf[2];
  Out[0] = Z;
  Out[1] = -X;
  Out[2] = Y;
}

// A rotation given in Unreal component axes (row-major 3x3 matrix R acting on column vectors:
// column c of R is where R sends Unreal axis c) as a glTF-axes axis-angle vector (radians),
// the form of smm_evaluate's pose: R_gltf = M^T R M with M the map above, then its logarithm.
void GltfAxisAngleFromUnrealRotation(float* OutAxisAngle, const float* UnrealRowMajor3x3) noexcept;

// ---- The rig ------------------------------------------------------------------------------

class Rig {
 public:
  Rig() = default;
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Load a bundle (a directory or .smm file), make an evaluator with `Threads` workers (1: the
  // calling thread only) and build the render layout. Replaces anything loaded before.
  Result Load(const std::string& Path, int Threads = 1);
  // The same from a .smm archive in memory (e.g. read through Unreal's file system, which
  // also sees files inside .pak archives); the model keeps its own copy of the bytes.
  Result LoadFromMemory(const void* Data, long long Size, int Threads = 1);

  // The character to animate: an identity `Shape` (ShapeDim() values ~ N(0, 1)) baked by the
  // native deformer (the bundle needs its deformer weights; 1 + E deformer evaluations, about
  // a quarter of a second for OpenHead on one core with AVX2, twice that without: do it at
  // load time), one from
  // SampleShape(Seed), or morph targets baked elsewhere (neutral 3N, deltas 3EN values).
  // On failure the previous character, if any, is kept.
  Result CreateCharacter(const float* Shape, int ShapeDimension);
  Result CreateCharacterFromSeed(std::uint64_t Seed);
  Result CreateCharacterFromBake(const float* Neutral, const float* Deltas, int NumValues);

  bool IsLoaded() const noexcept { return Model != nullptr; }
  bool HasCharacter() const noexcept { return Character != nullptr; }

  // One frame, written in the render layout (glTF axes, metres):
  //   Weights: Expressions() values (nullptr with 0: the neutral face);
  //   Pose: 3 * Joints() axis-angles, local to each joint's parent (nullptr with 0: rest pose);
  //   OutPositions, OutNormals: 3 * RenderVertices() floats each (OutNormals may be nullptr),
  //   NumValues = 3 * RenderVertices().
  // Allocates nothing. On failure the outputs are left as they were.
  Result Evaluate(const float* Weights, int NumWeights, const float* Pose, int NumPose, float* OutPositions,
                  float* OutNormals, int NumValues);

  const smm_model_info& Info() const noexcept { return ModelInfo; }
  int Vertices() const noexcept { return ModelInfo.vertices; }
  int Expressions() const noexcept { return ModelInfo.expressions; }
  int Joints() const noexcept { return ModelInfo.joints; }
  int ShapeDim() const noexcept { return ModelInfo.shape_dim; }
  int RenderVertices() const noexcept { return Layout.Vertices; }
  const RenderLayout& Render() const noexcept { return Layout; }

  const std::vector<std::string>& ExpressionNames() const noexcept { return ExpressionNameList; }
  const std::vector<std::string>& JointNames() const noexcept { return JointNameList; }
  // Expression index of a curve name (see CurveMap), or -1.
  int FindExpression(std::string_view CurveName) const { return Curves.Find(CurveName); }
  // Index of a joint by its exact name ("global", "neck", "jaw", "left_eye", "right_eye"), or -1.
  int FindJoint(std::string_view JointName) const noexcept;

  // The raw handles, for calls this class does not wrap. Owned by the rig.
  const smm_model* RawModel() const noexcept { return Model.get(); }
  smm_evaluator* RawEvaluator() const noexcept { return Evaluator.get(); }
  const smm_character* RawCharacter() const noexcept { return Character.get(); }

 private:
  Result Finish(int Threads);
  Result FinishSteps(int Threads);
  Result EvaluatorFailure(smm_status Status) const;
  void Reset() noexcept;

  // Declared in the order of creation, so destroyed character, evaluator, model (the ABI's order).
  ModelPtr Model;
  EvaluatorPtr Evaluator;
  CharacterPtr Character;

  smm_model_info ModelInfo{};
  RenderLayout Layout;
  std::vector<std::string> ExpressionNameList;
  std::vector<std::string> JointNameList;
  CurveMap Curves;
  std::vector<float> ScratchPositions;  // (N, 3)
  std::vector<float> ScratchNormals;    // (N, 3)
  std::vector<float> NeutralWeights;    // (E) zeros, for Evaluate(nullptr, 0, ...)
};

}  // namespace StyleMM
