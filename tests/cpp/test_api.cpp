// The C ABI of handles (stylemm.h) on a bundle written by hand (tiny_bundle.h): loading,
// sizes and names, bakes, frames, error codes with their messages, and threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "allocations.h"
#include "stylemm/stylemm.h"
#include "tiny_bundle.h"

namespace {

// A loaded tiny bundle with one evaluator, destroyed in the right order.
struct Fixture {
  TinyBundle::TempDir dir;
  TinyBundle::Contents contents;
  smm_model* model = nullptr;
  smm_evaluator* evaluator = nullptr;
  smm_model_info info{};

  explicit Fixture(int threads = 1) {
    contents = TinyBundle::Write(dir.Path() / "tiny");
    char error[512];
    REQUIRE(smm_model_load(&model, (dir.Path() / "tiny").string().c_str(), error, sizeof error) == SMM_OK);
    REQUIRE(smm_evaluator_create(&evaluator, model, threads, error, sizeof error) == SMM_OK);
    REQUIRE(smm_model_get_info(&info, model) == SMM_OK);
  }
  ~Fixture() {
    smm_evaluator_destroy(evaluator);
    smm_model_destroy(model);
  }

  smm_character* character(float scale) {
    std::vector<float> shape(static_cast<std::size_t>(info.shape_dim));
    for (std::size_t k = 0; k < shape.size(); ++k) shape[k] = scale * static_cast<float>(k + 1);
    smm_character* c = nullptr;
    REQUIRE(smm_character_create(&c, evaluator, shape.data(), info.shape_dim, nullptr, 0) == SMM_OK);
    return c;
  }
  std::size_t mesh_floats() const { return 3 * static_cast<std::size_t>(info.vertices); }
};

std::vector<float> pose_of(const smm_model_info& info, float angle) {
  std::vector<float> pose(3 * static_cast<std::size_t>(info.joints), 0.0f);
  for (std::size_t k = 0; k < pose.size(); ++k) pose[k] = angle * static_cast<float>((k % 3) + 1);
  return pose;
}

}  // namespace

TEST_CASE("the core's SHA-256 gives the FIPS 180-4 digests") {
  CHECK(TinyBundle::Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(TinyBundle::Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first padding block.
  CHECK(TinyBundle::Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(TinyBundle::Sha256Hex(std::string(1000, 'a')) ==
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST_CASE("versions: the library is the header's, and another minor version is refused") {
  CHECK(smm_version() == STYLEMM_VERSION);
  CHECK(smm_check_version(STYLEMM_VERSION) == SMM_OK);
  CHECK(smm_check_version(STYLEMM_VERSION + 1) == SMM_OK);  // a patch release keeps the ABI
  CHECK(smm_check_version(STYLEMM_VERSION + 100) == SMM_ERR_VERSION);
  CHECK(smm_check_version(STYLEMM_VERSION + 10000) == SMM_ERR_VERSION);
}

TEST_CASE("a loaded model reports the bundle's sizes, topology and names") {
  Fixture f;
  const TinyBundle::Contents& c = f.contents;
  CHECK(f.info.vertices == c.N);
  CHECK(f.info.triangles == c.F);
  CHECK(f.info.uv_vertices == c.U);
  CHECK(f.info.shape_dim == c.K);
  CHECK(f.info.expressions == c.E);
  CHECK(f.info.joints == c.J);
  std::vector<int> faces(c.Faces.size());
  REQUIRE(smm_model_get_faces(faces.data(), f.model, static_cast<int>(faces.size())) == SMM_OK);
  CHECK(faces == c.Faces);
  std::vector<float> uvs(c.Uvs.size());
  REQUIRE(smm_model_get_uvs(uvs.data(), f.model, static_cast<int>(uvs.size())) == SMM_OK);
  CHECK(uvs == c.Uvs);
  CHECK(smm_model_get_faces(faces.data(), f.model, static_cast<int>(faces.size()) - 1) == SMM_ERR_SIZE);
  CHECK(smm_model_get_faces(nullptr, f.model, static_cast<int>(faces.size())) == SMM_ERR_NULL_POINTER);
  CHECK(smm_model_get_faces(faces.data(), nullptr, static_cast<int>(faces.size())) == SMM_ERR_NULL_POINTER);
  char name[32];
  for (int k = 0; k < c.E; ++k) {
    REQUIRE(smm_model_get_expression_name(name, f.model, k, sizeof name) == SMM_OK);
    CHECK(name == c.ExpressionNames[static_cast<std::size_t>(k)]);
    CHECK(smm_model_find_expression(f.model, name) == k);
  }
  CHECK(smm_model_get_expression_name(name, f.model, c.E, sizeof name) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_model_get_expression_name(name, f.model, 0, 3) == SMM_ERR_SIZE);  // "jawOpen" does not fit in 3 bytes
  CHECK(smm_model_find_expression(f.model, "JawOpen") == -1);
  CHECK(smm_model_find_expression(nullptr, "jawOpen") == -1);
  REQUIRE(smm_model_get_joint_name(name, f.model, 1, sizeof name) == SMM_OK);
  CHECK(std::string(name) == "neck");
}

TEST_CASE("failed loads say why, in the caller's buffer, and leave no handle") {
  TinyBundle::TempDir dir;
  smm_model* model = reinterpret_cast<smm_model*>(&dir);  // must be reset to NULL
  char error[512] = "untouched";
  CHECK(smm_model_load(&model, (dir.Path() / "missing.smm").string().c_str(), error, sizeof error) == SMM_ERR_IO);
  CHECK(model == nullptr);
  CHECK(std::string(error).find("missing.smm") != std::string::npos);
  CHECK(smm_model_load(&model, dir.Path().string().c_str(), error, sizeof error) == SMM_ERR_BAD_BUNDLE);
  CHECK(std::string(error).find("manifest.json") != std::string::npos);
  char tiny[8];
  CHECK(smm_model_load(&model, (dir.Path() / "missing.smm").string().c_str(), tiny, sizeof tiny) == SMM_ERR_IO);
  CHECK(std::strlen(tiny) == sizeof tiny - 1);  // cut short, still terminated
  CHECK(smm_model_load(&model, (dir.Path() / "missing.smm").string().c_str(), nullptr, 0) == SMM_ERR_IO);
  CHECK(smm_model_load(nullptr, "x", error, sizeof error) == SMM_ERR_NULL_POINTER);
  const char junk[] = "PK not really";
  CHECK(smm_model_load_memory(&model, junk, sizeof junk, error, sizeof error) == SMM_ERR_BAD_BUNDLE);
  CHECK(smm_model_load_memory(&model, junk, 0, error, sizeof error) == SMM_ERR_INVALID_ARGUMENT);
}

TEST_CASE("a tampered file is refused by its sha256") {
  TinyBundle::TempDir dir;
  TinyBundle::Write(dir.Path() / "b");
  {
    std::FILE* file = std::fopen((dir.Path() / "b" / "faces.bin").string().c_str(), "r+b");
    REQUIRE(file);
    std::fputc(7, file);
    std::fclose(file);
  }
  smm_model* model = nullptr;
  char error[512];
  CHECK(smm_model_load(&model, (dir.Path() / "b").string().c_str(), error, sizeof error) == SMM_ERR_BAD_BUNDLE);
  CHECK(std::string(error).find("'faces.bin' does not match its sha256") != std::string::npos);
}

TEST_CASE("NULL handles and bad arguments return codes and the evaluator keeps the message") {
  Fixture f;
  smm_character* character = f.character(0.3f);
  std::vector<float> vertices(f.mesh_floats()), weights(static_cast<std::size_t>(f.info.expressions), 0.1f);
  const auto evaluate = [&](const float* expression, int n_expressions, const float* pose, int n_pose, int n_vertices,
                            const smm_character* who = nullptr) {
    return smm_evaluate(vertices.data(), nullptr, f.evaluator, who ? who : character, expression, n_expressions, pose,
                        n_pose, n_vertices);
  };
  const std::string message = [&] { return std::string(smm_evaluator_message(f.evaluator)); }();
  CHECK(smm_evaluate(vertices.data(), nullptr, nullptr, character, weights.data(), f.info.expressions, nullptr, 0,
                     f.info.vertices) == SMM_ERR_NULL_POINTER);
  CHECK(smm_evaluate(vertices.data(), nullptr, f.evaluator, nullptr, weights.data(), f.info.expressions, nullptr, 0,
                     f.info.vertices) == SMM_ERR_NULL_POINTER);
  CHECK(evaluate(weights.data(), f.info.expressions + 1, nullptr, 0, f.info.vertices) == SMM_ERR_SIZE);
  CHECK(std::string(smm_evaluator_message(f.evaluator)).find("n_expressions") != std::string::npos);
  CHECK(evaluate(weights.data(), f.info.expressions, nullptr, 0, f.info.vertices - 1) == SMM_ERR_SIZE);
  CHECK(evaluate(weights.data(), f.info.expressions, nullptr, 3, f.info.vertices) == SMM_ERR_SIZE);
  const std::vector<float> pose = pose_of(f.info, 0.1f);
  CHECK(evaluate(weights.data(), f.info.expressions, pose.data(), 3, f.info.vertices) == SMM_ERR_SIZE);
  weights[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(evaluate(weights.data(), f.info.expressions, nullptr, 0, f.info.vertices) == SMM_ERR_NON_FINITE);
  CHECK(std::string(smm_evaluator_message(f.evaluator)) == "expression contains NaN or Inf");
  weights[1] = 0.1f;
  CHECK(evaluate(weights.data(), f.info.expressions, nullptr, 0, f.info.vertices) == SMM_OK);
  CHECK(std::string(smm_evaluator_message(f.evaluator)).empty());  // a success clears it
  CHECK(std::string(smm_evaluator_message(nullptr)) == "evaluator is NULL");

  Fixture other;  // a character of another model is refused, not misread
  smm_character* stranger = other.character(0.3f);
  CHECK(evaluate(weights.data(), f.info.expressions, nullptr, 0, f.info.vertices, stranger) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(std::string(smm_evaluator_message(f.evaluator)).find("different models") != std::string::npos);

  std::vector<float> shape(static_cast<std::size_t>(f.info.shape_dim), 0.0f);
  smm_character* none = nullptr;
  CHECK(smm_character_create(&none, f.evaluator, shape.data(), f.info.shape_dim + 1, nullptr, 0) == SMM_ERR_SIZE);
  CHECK(smm_character_create(&none, f.evaluator, shape.data(), f.info.shape_dim, nullptr, 2) == SMM_ERR_INVALID_ARGUMENT);
  shape[0] = std::numeric_limits<float>::infinity();
  CHECK(smm_character_create(&none, f.evaluator, shape.data(), f.info.shape_dim, nullptr, 0) == SMM_ERR_NON_FINITE);
  CHECK(none == nullptr);
  smm_evaluator* evaluator = nullptr;
  CHECK(smm_evaluator_create(&evaluator, f.model, 0, nullptr, 0) == SMM_ERR_INVALID_ARGUMENT);
  CHECK(smm_evaluator_create(&evaluator, nullptr, 1, nullptr, 0) == SMM_ERR_NULL_POINTER);
  smm_character_destroy(stranger);
  smm_character_destroy(character);
  smm_character_destroy(nullptr);  // ignored, like free(NULL)
  smm_evaluator_destroy(nullptr);
  smm_model_destroy(nullptr);
}

TEST_CASE("a unit bake is the deformer's differences, and a rest frame its neutral mesh") {
  Fixture f;
  std::vector<float> shape(static_cast<std::size_t>(f.info.shape_dim), 0.4f);
  smm_character* character = nullptr;
  REQUIRE(smm_character_create(&character, f.evaluator, shape.data(), f.info.shape_dim, nullptr, 0) == SMM_OK);
  const std::size_t n3 = f.mesh_floats(), e = static_cast<std::size_t>(f.info.expressions);
  std::vector<float> shapes, units(e * (e + 1), 0.0f);
  for (std::size_t k = 0; k <= e; ++k) shapes.insert(shapes.end(), shape.begin(), shape.end());
  for (std::size_t k = 0; k < e; ++k) units[(k + 1) * e + k] = 1.0f;  // row 0: neutral; row k + 1: unit k
  std::vector<float> meshes(n3 * (e + 1)), neutral(n3), deltas(n3 * e);
  REQUIRE(smm_deform(meshes.data(), f.evaluator, shapes.data(), units.data(), static_cast<int>(e + 1)) == SMM_OK);
  REQUIRE(smm_character_get_neutral(neutral.data(), character, static_cast<int>(n3)) == SMM_OK);
  REQUIRE(smm_character_get_deltas(deltas.data(), character, static_cast<int>(n3 * e)) == SMM_OK);
  CHECK(smm_character_get_deltas(deltas.data(), character, static_cast<int>(n3)) == SMM_ERR_SIZE);
  double moved = 0;
  for (std::size_t i = 0; i < n3; ++i) {
    CHECK(neutral[i] == meshes[i]);
    moved = std::max(moved, std::abs(double{neutral[i]} - f.contents.Template[i]));
    for (std::size_t k = 0; k < e; ++k) CHECK(deltas[k * n3 + i] == Approx(meshes[(k + 1) * n3 + i] - meshes[i]).margin(1e-7));
  }
  CHECK(moved > 1e-3);  // the deformer really deforms: the check above is not 0 == 0

  std::vector<float> vertices(n3), zeros(e, 0.0f);
  REQUIRE(smm_evaluate(vertices.data(), nullptr, f.evaluator, character, zeros.data(), f.info.expressions, nullptr, 0,
                       f.info.vertices) == SMM_OK);
  CHECK(vertices == neutral);
  smm_character_destroy(character);
}

TEST_CASE("a frame allocates nothing, nor does a crowd's") {
  Fixture f(2);
  smm_character* character = f.character(0.2f);
  std::vector<float> vertices(f.mesh_floats()), normals(f.mesh_floats());
  std::vector<float> weights(static_cast<std::size_t>(f.info.expressions), 0.3f);
  const std::vector<float> pose = pose_of(f.info, 0.2f);
  const smm_character* crowd[3] = {character, character, character};
  std::vector<float> crowd_vertices(3 * f.mesh_floats()), crowd_weights, crowd_poses;
  for (int c = 0; c < 3; ++c) {
    crowd_weights.insert(crowd_weights.end(), weights.begin(), weights.end());
    crowd_poses.insert(crowd_poses.end(), pose.begin(), pose.end());
  }
  const long before = test::allocations();
  for (int frame = 0; frame < 10; ++frame) {
    REQUIRE(smm_evaluate(vertices.data(), normals.data(), f.evaluator, character, weights.data(), f.info.expressions,
                         pose.data(), 3 * f.info.joints, f.info.vertices) == SMM_OK);
  }
  CHECK(test::allocations() == before);
  for (int frame = 0; frame < 10; ++frame) {
    REQUIRE(smm_evaluate_many(crowd_vertices.data(), nullptr, f.evaluator, crowd, crowd_weights.data(),
                              f.info.expressions, crowd_poses.data(), 3 * f.info.joints, f.info.vertices, 3) == SMM_OK);
  }
  CHECK(test::allocations() == before);
  smm_character_destroy(character);
}

TEST_CASE("8 threads sharing one model get the single-threaded frames bit for bit and so does a crowd") {
  Fixture f(3);  // the crowd's evaluator has 3 workers
  constexpr int kThreads = 8, kFrames = 50;
  const std::size_t n3 = f.mesh_floats(), e = static_cast<std::size_t>(f.info.expressions);
  std::vector<smm_character*> characters;
  for (int t = 0; t < kThreads; ++t) characters.push_back(f.character(0.1f * static_cast<float>(t + 1)));
  const auto inputs = [&](int t, int frame, std::vector<float>& weights, std::vector<float>& pose) {
    weights.assign(e, 0.0f);
    weights[static_cast<std::size_t>(frame) % e] = 0.02f * static_cast<float>(frame + t);
    pose = pose_of(f.info, 0.01f * static_cast<float>(frame - t));
  };
  // Expected: one thread, one evaluator, in order.
  std::vector<std::vector<float>> expected(kThreads * kFrames, std::vector<float>(2 * n3));
  std::vector<float> weights, pose;
  for (int t = 0; t < kThreads; ++t) {
    for (int frame = 0; frame < kFrames; ++frame) {
      inputs(t, frame, weights, pose);
      std::vector<float>& out = expected[static_cast<std::size_t>(t * kFrames + frame)];
      REQUIRE(smm_evaluate(out.data(), out.data() + n3, f.evaluator, characters[static_cast<std::size_t>(t)],
                           weights.data(), f.info.expressions, pose.data(), 3 * f.info.joints, f.info.vertices) == SMM_OK);
    }
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      smm_evaluator* evaluator = nullptr;
      if (smm_evaluator_create(&evaluator, f.model, 1, nullptr, 0) != SMM_OK) {
        ++failures;
        return;
      }
      std::vector<float> w, p, out(2 * n3);
      for (int frame = 0; frame < kFrames; ++frame) {
        inputs(t, frame, w, p);
        if (smm_evaluate(out.data(), out.data() + n3, evaluator, characters[static_cast<std::size_t>(t)], w.data(),
                         f.info.expressions, p.data(), 3 * f.info.joints, f.info.vertices) != SMM_OK)
          ++failures;
        if (std::memcmp(out.data(), expected[static_cast<std::size_t>(t * kFrames + frame)].data(),
                        out.size() * sizeof(float)) != 0)
          ++mismatches;
      }
      smm_evaluator_destroy(evaluator);
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  CHECK(mismatches == 0);

  // The crowd: frame 0 of every character at once, over the evaluator's 3 workers.
  std::vector<float> all_weights, all_poses, vertices(kThreads * n3), normals(kThreads * n3);
  for (int t = 0; t < kThreads; ++t) {
    inputs(t, 0, weights, pose);
    all_weights.insert(all_weights.end(), weights.begin(), weights.end());
    all_poses.insert(all_poses.end(), pose.begin(), pose.end());
  }
  std::vector<const smm_character*> crowd(characters.begin(), characters.end());
  REQUIRE(smm_evaluate_many(vertices.data(), normals.data(), f.evaluator, crowd.data(), all_weights.data(),
                            f.info.expressions, all_poses.data(), 3 * f.info.joints, f.info.vertices, kThreads) == SMM_OK);
  for (int t = 0; t < kThreads; ++t) {
    const std::vector<float>& one = expected[static_cast<std::size_t>(t * kFrames)];
    CHECK(std::memcmp(vertices.data() + t * n3, one.data(), n3 * sizeof(float)) == 0);
    CHECK(std::memcmp(normals.data() + t * n3, one.data() + n3, n3 * sizeof(float)) == 0);
  }
  for (smm_character* c : characters) smm_character_destroy(c);
}
