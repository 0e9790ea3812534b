// Per-frame cost of the C ABI itself, without Python: one character's mesh + normals (and
// the blend alone, and blend + skinning), a crowd through smm_evaluate_many, and baking a
// character. Also the floor under a frame: the time it takes just to read the morph targets
// the frame blends (summing them, on as many threads as the frame). Prints medians in ms.
//
//   native_frame <bundle> [runs] [threads]
//
// Built and run by benchmarks/native.py (CMake option STYLEMM_BUILD_BENCHMARKS).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "stylemm/stylemm.h"

namespace {

template <typename Step>
double median_ms(Step&& step, int runs) {
  step();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    step();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + runs / 2, times.end());
  return times[static_cast<std::size_t>(runs / 2)];
}

void check(smm_status status, smm_evaluator* evaluator, const char* what) {
  if (status == SMM_OK) return;
  std::fprintf(stderr, "%s failed: %s (%s)\n", what, smm_status_string(status),
               evaluator ? smm_evaluator_message(evaluator) : "");
  std::exit(1);
}

// 15 of E weights active (all of them if E < 15), as a face tracker drives them and as
// native.py's Python frames do.
std::vector<float> expression(int e, std::mt19937& rng) {
  std::vector<std::size_t> units(static_cast<std::size_t>(e));
  std::iota(units.begin(), units.end(), std::size_t{0});
  std::shuffle(units.begin(), units.end(), rng);
  std::vector<float> weights(units.size(), 0.0f);
  std::uniform_real_distribution<float> weight(0.05f, 1.0f);
  for (std::size_t k = 0; k < std::min<std::size_t>(15, units.size()); ++k) weights[units[k]] = weight(rng);
  return weights;
}

// The sum of the first n floats (a multiple of 8) of R rows, read together as the blend reads
// four targets per pass. Eight partial sums, each adding one term per step (the rows'
// values are summed first), so the additions do not wait on each other.
template <int R>
float sum_rows(const float* const* rows, std::size_t n) {
  float partial[8] = {};
  for (std::size_t i = 0; i < n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) {
      float across = rows[0][i + k];
      for (int r = 1; r < R; ++r) across += rows[r][i + k];
      partial[k] += across;
    }
  float total = 0.0f;
  for (float p : partial) total += p;
  return total;
}

// Reads every float of rows[r][0, n) and returns their sum (so the reads cannot be dropped),
// groups of four rows split over `threads` threads as smm_evaluate_many splits a crowd.
float read_rows(const std::vector<const float*>& rows, std::size_t n, int threads) {
  std::vector<float> sums(static_cast<std::size_t>(threads), 0.0f);
  const std::size_t whole = n / 8 * 8;
  const auto read = [&](std::size_t t) {
    std::size_t r = 4 * t;
    for (; r + 4 <= rows.size(); r += 4 * sums.size()) sums[t] += sum_rows<4>(&rows[r], whole);
    for (; r < rows.size(); ++r) sums[t] += sum_rows<1>(&rows[r], whole);  // the last group has fewer than four
  };
  if (threads == 1) {
    read(0);
  } else {
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < sums.size(); ++t) workers.emplace_back(read, t);
    for (std::thread& w : workers) w.join();
  }
  float total = 0.0f;
  for (float s : sums) total += s;
  return total;
}

// The active morph targets of each character's frame: rows of its deltas (E, N, 3).
std::vector<const float*> active_rows(const std::vector<std::vector<float>>& deltas, const std::vector<float>& weights,
                                      int e, std::size_t n3) {
  std::vector<const float*> rows;
  for (std::size_t c = 0; c < deltas.size(); ++c)
    for (int k = 0; k < e; ++k)
      if (weights[c * static_cast<std::size_t>(e) + static_cast<std::size_t>(k)] != 0.0f)
        rows.push_back(deltas[c].data() + static_cast<std::size_t>(k) * n3);
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <bundle> [runs] [threads]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 2 ? std::atoi(argv[2]) : 101;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  check(smm_check_version(STYLEMM_VERSION), nullptr, "version check");
  char error[1024];
  smm_model* model = nullptr;
  if (smm_model_load(&model, argv[1], error, sizeof error) != SMM_OK) {
    std::fprintf(stderr, "%s\n", error);
    return 1;
  }
  smm_model_info info{};
  smm_model_get_info(&info, model);
  smm_evaluator* one = nullptr;
  smm_evaluator* many = nullptr;
  check(smm_evaluator_create(&one, model, 1, error, sizeof error), nullptr, "evaluator");
  check(smm_evaluator_create(&many, model, threads, error, sizeof error), nullptr, "evaluator");

  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  const int crowd = 64;
  std::vector<smm_character*> characters(crowd, nullptr);
  std::vector<float> shape(static_cast<std::size_t>(info.shape_dim));
  for (float& s : shape) s = normal(rng);
  const double bake_ms = median_ms(
      [&] {
        smm_character_destroy(characters[0]);
        check(smm_character_create(&characters[0], many, shape.data(), info.shape_dim, nullptr, 0), many, "bake");
      },
      3);
  // 64 different characters, so that the crowd reads 64 characters' morph targets from memory
  // as a real one would (sharing bakes would keep them in cache).
  for (int c = 1; c < crowd; ++c) {
    for (float& s : shape) s = normal(rng);
    check(smm_character_create(&characters[c], many, shape.data(), info.shape_dim, nullptr, 0), many, "bake");
  }
  const std::vector<const smm_character*> members(characters.begin(), characters.end());

  const std::size_t n3 = 3 * static_cast<std::size_t>(info.vertices);
  std::vector<float> weights, pose(static_cast<std::size_t>(3 * info.joints), 0.05f);
  for (int c = 0; c < crowd; ++c) {
    const std::vector<float> w = expression(info.expressions, rng);
    weights.insert(weights.end(), w.begin(), w.end());
  }
  std::vector<float> poses;
  for (int c = 0; c < crowd; ++c) poses.insert(poses.end(), pose.begin(), pose.end());
  std::vector<float> vertices(n3 * crowd), normals(n3 * crowd);

  // The frame, and parts of it (no normals; neither pose nor normals) to see where time goes.
  const auto frame = [&](const float* pose_in, float* normals_out) {
    return [&, pose_in, normals_out] {
      check(smm_evaluate(vertices.data(), normals_out, one, members[0], weights.data(), info.expressions, pose_in,
                         pose_in ? 3 * info.joints : 0, info.vertices),
            one, "evaluate");
    };
  };
  const double single_ms = median_ms(frame(pose.data(), normals.data()), runs);
  const double posed_ms = median_ms(frame(pose.data(), nullptr), runs);
  const double blend_ms = median_ms(frame(nullptr, nullptr), runs);
  const double crowd_ms = median_ms(
      [&] {
        check(smm_evaluate_many(vertices.data(), normals.data(), many, members.data(), weights.data(),
                                info.expressions, poses.data(), 3 * info.joints, info.vertices, crowd),
              many, "evaluate_many");
      },
      std::max(5, runs / 10));

  // The floors: the characters' own targets, copied out, read as the frames read them.
  std::vector<std::vector<float>> deltas(crowd, std::vector<float>(n3 * static_cast<std::size_t>(info.expressions)));
  for (int c = 0; c < crowd; ++c)
    check(smm_character_get_deltas(deltas[c].data(), characters[c], static_cast<int>(deltas[c].size())), nullptr,
          "get_deltas");
  volatile float sink = 0.0f;  // keeps the sums, and so the reads, alive
  const std::vector<const float*> one_rows = active_rows({deltas[0]}, weights, info.expressions, n3);
  const std::vector<const float*> crowd_rows = active_rows(deltas, weights, info.expressions, n3);
  const double read_one_ms = median_ms([&] { sink = sink + read_rows(one_rows, n3, 1); }, runs);
  const double read_crowd_ms =
      median_ms([&] { sink = sink + read_rows(crowd_rows, n3, threads); }, std::max(5, runs / 10));

  std::printf("{\"bake_unit_ms\": %.3f, \"frame_ms\": %.4f, \"blend_ms\": %.4f, \"blend_skin_ms\": %.4f, "
              "\"crowd64_ms\": %.3f, \"read_targets_ms\": %.4f, \"read_crowd64_targets_ms\": %.3f, "
              "\"crowd64_target_mb\": %.1f, \"threads\": %d}\n",
              bake_ms, single_ms, blend_ms, posed_ms, crowd_ms, read_one_ms, read_crowd_ms,
              static_cast<double>(crowd_rows.size() * n3 * sizeof(float)) / 1e6, threads);

  for (smm_character* c : characters) smm_character_destroy(c);
  smm_evaluator_destroy(one);
  smm_evaluator_destroy(many);
  smm_model_destroy(model);
  return 0;
}
