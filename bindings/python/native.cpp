// stylemm_runtime._native: the C ABI (stylemm.h) over numpy arrays: the stateless building
// blocks and the seed stream as functions, and Model / Evaluator / Character over the handles.
//
// Inputs of any real dtype and layout are converted to float32 C order (a copy only when
// needed); anything else is rejected with a ValueError naming the argument. `out=`, when
// given, must already be float32, C-contiguous and of the result's shape: like the C ABI
// it is then written in place and nothing is allocated.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "stylemm/stylemm.h"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

// A shape as the user should read it: known sizes as numbers, free ones as letters.
struct Dim {
  py::ssize_t size;  // -1 when free
  const char* label;
  Dim(py::ssize_t s) : size(s), label(nullptr) {}  // NOLINT: numbers read naturally in shape lists
  Dim(const char* l) : size(-1), label(l) {}       // NOLINT
};

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) text += (d ? ", " : "") + std::to_string(a.shape(d));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

void expect_shape(const py::array& a, const char* name, std::vector<Dim> shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  std::string wanted = "(";
  for (size_t d = 0; d < shape.size(); ++d) {
    if (ok && shape[d].size >= 0 && a.shape(d) != shape[d].size) ok = false;
    wanted += (d ? ", " : "") + (shape[d].label ? std::string(shape[d].label) : std::to_string(shape[d].size));
  }
  wanted += shape.size() == 1 ? ",)" : ")";
  if (!ok) throw py::value_error(std::string(name) + " must have shape " + wanted + ", got " + shape_text(a));
}

py::array as_array(const py::handle& value, const char* name) {
  py::array a = py::array::ensure(value);
  if (!a) throw py::value_error(std::string(name) + " must be an array of numbers");
  return a;
}

FloatArray as_float32(const py::handle& value, const char* name) {
  py::array a = as_array(value, name);
  const char kind = a.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u')
    throw py::value_error(std::string(name) + " must hold real numbers (float32 preferred), got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  FloatArray converted = FloatArray::ensure(a);
  if (!converted) throw py::value_error(std::string(name) + " cannot be converted to float32");
  return converted;
}

IntArray as_parents(const py::handle& value) {
  py::array a = as_array(value, "parents");
  // Signed only: the root's parent is -1, and a wrapped-around unsigned value must not pass for it.
  if (a.dtype().kind() != 'i')
    throw py::value_error("parents must be a signed integer array (joint indices, -1 for the root), got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  // Narrowing to the ABI's int must not wrap a huge index into a valid-looking one.
  auto wide = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!wide) throw py::value_error("parents cannot be converted to int64");
  for (py::ssize_t j = 0; j < wide.size(); ++j) {
    if (wide.data()[j] < INT_MIN || wide.data()[j] > INT_MAX)
      throw py::value_error("parents[" + std::to_string(j) + "] = " + std::to_string(wide.data()[j]) +
                            " is not a joint index");
  }
  return IntArray::ensure(wide);
}

int as_count(py::ssize_t n, const char* what) {
  if (n > INT_MAX) throw py::value_error(std::string("too many ") + what + " for the C ABI (at most 2^31 - 1)");
  return static_cast<int>(n);
}

FloatArray output(const py::object& out, std::vector<py::ssize_t> shape) {
  if (out.is_none()) return FloatArray(shape);
  // No conversion here: a converted copy would silently not be the caller's buffer.
  if (!py::isinstance<py::array>(out)) throw py::value_error("out must be a numpy array");
  auto a = py::reinterpret_borrow<py::array>(out);
  if (!a.dtype().is(py::dtype::of<float>()) || !(a.flags() & py::array::c_style) || !a.writeable())
    throw py::value_error("out must be a writeable, C-contiguous float32 array, got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  std::vector<Dim> dims(shape.begin(), shape.end());
  expect_shape(a, "out", dims);
  return py::reinterpret_borrow<FloatArray>(a);
}

using Named = std::initializer_list<std::pair<const char*, const FloatArray*>>;

// Raises the C status as a ValueError. The status says what is wrong, not where: on the
// error path only, find the input holding NaN / Inf, or add what the call was given.
template <typename Detail>
void check(smm_status status, const char* function, Named inputs, Detail detail) {
  if (status == SMM_OK) return;
  if (status == SMM_ERR_NON_FINITE) {
    for (const auto& [name, array] : inputs) {
      for (py::ssize_t i = 0; i < array->size(); ++i) {
        if (!std::isfinite(array->data()[i]))
          throw py::value_error(std::string(function) + ": " + name +
                                " contains NaN or Inf (after conversion to float32); pass finite numbers");
      }
    }
  }
  throw py::value_error(std::string(function) + ": " + smm_status_string(status) + detail());
}

FloatArray blend_shapes(const py::handle& template_in, const py::handle& deltas_in, const py::handle& coeffs_in,
                        const py::object& out_in) {
  const FloatArray template_vertices = as_float32(template_in, "template");
  const FloatArray deltas = as_float32(deltas_in, "deltas");
  const FloatArray coeffs = as_float32(coeffs_in, "coeffs");
  expect_shape(template_vertices, "template", {"N", 3});
  const py::ssize_t n = template_vertices.shape(0);
  expect_shape(deltas, "deltas", {"K", n, 3});
  expect_shape(coeffs, "coeffs", {deltas.shape(0)});
  const int n_vertices = as_count(n, "vertices"), n_shapes = as_count(deltas.shape(0), "blend shapes");
  FloatArray out = output(out_in, {n, 3});
  smm_status status;
  {
    py::gil_scoped_release release;  // the C call touches no Python object
    status = smm_blend_shapes(out.mutable_data(), template_vertices.data(), deltas.data(), coeffs.data(),
                              n_vertices, n_shapes);
  }
  check(status, "blend_shapes", {{"template", &template_vertices}, {"coeffs", &coeffs}},
        [&] { return "; got N = " + std::to_string(n) + " vertices, K = " + std::to_string(n_shapes) + " shapes"; });
  return out;
}

FloatArray joint_transforms(const py::handle& rest_in, const py::handle& parents_in, const py::handle& pose_in,
                            const py::object& out_in) {
  const FloatArray rest_joints = as_float32(rest_in, "rest_joints");
  const IntArray parents = as_parents(parents_in);
  const FloatArray axis_angle = as_float32(pose_in, "axis_angle");
  expect_shape(rest_joints, "rest_joints", {"J", 3});
  const py::ssize_t j = rest_joints.shape(0);
  expect_shape(parents, "parents", {j});
  expect_shape(axis_angle, "axis_angle", {j, 3});
  const int n_joints = as_count(j, "joints");
  FloatArray out = output(out_in, {j, 4, 4});
  smm_status status;
  {
    py::gil_scoped_release release;
    status = smm_joint_transforms(out.mutable_data(), rest_joints.data(), parents.data(), axis_angle.data(),
                                  n_joints);
  }
  check(status, "joint_transforms", {{"rest_joints", &rest_joints}, {"axis_angle", &axis_angle}},
        [&] {
          return status == SMM_ERR_INVALID_PARENTS ? "; got " + py::str(parents.attr("tolist")()).cast<std::string>()
                                                   : "; got J = " + std::to_string(j) + " joints";
        });
  return out;
}

FloatArray skin(const py::handle& vertices_in, const py::handle& weights_in, const py::handle& transforms_in,
                const py::object& out_in) {
  const FloatArray vertices = as_float32(vertices_in, "vertices");
  const FloatArray weights = as_float32(weights_in, "weights");
  const FloatArray transforms = as_float32(transforms_in, "transforms");
  expect_shape(vertices, "vertices", {"N", 3});
  const py::ssize_t n = vertices.shape(0);
  expect_shape(weights, "weights", {n, "J"});
  expect_shape(transforms, "transforms", {weights.shape(1), 4, 4});
  const int n_vertices = as_count(n, "vertices"), n_joints = as_count(weights.shape(1), "joints");
  FloatArray out = output(out_in, {n, 3});
  smm_status status;
  {
    py::gil_scoped_release release;
    status = smm_skin(out.mutable_data(), vertices.data(), weights.data(), transforms.data(), n_vertices, n_joints);
  }
  check(status, "skin", {{"vertices", &vertices}, {"weights", &weights}, {"transforms", &transforms}},
        [&] { return "; got N = " + std::to_string(n) + " vertices, J = " + std::to_string(n_joints) + " joints"; });
  return out;
}


// ---- Seeds and the render mesh ------------------------------------------------------------

std::uint64_t as_seed(const py::handle& seed) {
  const char* wanted = "seed must be an integer in [0, 2**64 - 1] (a uint64, as smm_sample_normal takes), got ";
  if (py::isinstance<py::bool_>(seed) || !PyIndex_Check(seed.ptr()))
    throw py::value_error(wanted + py::repr(seed).cast<std::string>());
  const auto value = py::reinterpret_steal<py::object>(PyNumber_Index(seed.ptr()));
  if (!value) throw py::error_already_set();
  const unsigned long long bits = PyLong_AsUnsignedLongLong(value.ptr());
  if (PyErr_Occurred()) {
    PyErr_Clear();  // negative or too large
    throw py::value_error(wanted + py::repr(seed).cast<std::string>());
  }
  return bits;
}

py::array_t<float> sample_normal(const py::handle& seed_in, long long count) {
  const std::uint64_t seed = as_seed(seed_in);
  if (count < 0 || count > INT_MAX)
    throw py::value_error("count must be in [0, 2^31 - 1], got " + std::to_string(count));
  py::array_t<float> out(static_cast<py::ssize_t>(count));
  smm_status status;
  {
    py::gil_scoped_release release;
    status = smm_sample_normal(out.mutable_data(), seed, static_cast<int>(count));
  }
  check(status, "sample_normal", {}, [] { return std::string(); });
  return out;
}

// Indices (any integer dtype) as the ABI's int, refusing values that would wrap.
IntArray as_indices(const py::handle& value, const char* name) {
  py::array a = as_array(value, name);
  if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')
    throw py::value_error(std::string(name) + " must be an integer array, got dtype " +
                          py::str(a.dtype()).cast<std::string>());
  auto wide = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!wide) throw py::value_error(std::string(name) + " cannot be converted to int64");
  for (py::ssize_t i = 0; i < wide.size(); ++i)
    if (wide.data()[i] < INT_MIN || wide.data()[i] > INT_MAX)
      throw py::value_error(std::string(name) + " holds " + std::to_string(wide.data()[i]) + ", not an index");
  return IntArray::ensure(wide);
}

py::tuple split_uv_seams(const py::handle& faces_in, const py::handle& uv_faces_in, py::ssize_t n_vertices,
                         py::ssize_t n_uv_vertices) {
  const IntArray faces = as_indices(faces_in, "faces");
  const IntArray uv_faces = as_indices(uv_faces_in, "uv_faces");
  expect_shape(faces, "faces", {"F", 3});
  expect_shape(uv_faces, "uv_faces", {faces.shape(0), 3});
  const int f = as_count(faces.shape(0), "triangles");
  const int n = as_count(n_vertices, "vertices"), u = as_count(n_uv_vertices, "UV vertices");
  const auto fail = [&](smm_status status) {
    if (status == SMM_ERR_INVALID_ARGUMENT)
      throw py::value_error("split_uv_seams: faces must index [0, vertices) = [0, " + std::to_string(n) +
                            ") and uv_faces [0, uv_vertices) = [0, " + std::to_string(u) +
                            "), with at least one triangle");
    check(status, "split_uv_seams", {}, [] { return std::string(); });
  };
  int count = 0;
  smm_status status = smm_split_uv_seams(&count, nullptr, nullptr, nullptr, faces.data(), uv_faces.data(), f, n, u, 0);
  if (status != SMM_OK) fail(status);
  IntArray vertex_map(count), uv_map(count), triangles({static_cast<py::ssize_t>(f), py::ssize_t{3}});
  {
    py::gil_scoped_release release;
    status = smm_split_uv_seams(&count, vertex_map.mutable_data(), uv_map.mutable_data(), triangles.mutable_data(),
                                faces.data(), uv_faces.data(), f, n, u, count);
  }
  if (status != SMM_OK) fail(status);
  return py::make_tuple(vertex_map, uv_map, triangles);
}

// ---- Model and Character: the handles -----------------------------------------------------

// The status of a handle call as the Python exception a user expects: bundle problems as
// stylemm_runtime.bundle.BundleError, bad arguments as ValueError.
[[noreturn]] void raise_status(smm_status status, const std::string& message) {
  const std::string text = message.empty() ? smm_status_string(status) : message;
  switch (status) {
    case SMM_ERR_IO:
    case SMM_ERR_BAD_BUNDLE:
    case SMM_ERR_VERSION:
    case SMM_ERR_UNSUPPORTED: {
      py::object error = py::module_::import("stylemm_runtime.bundle").attr("BundleError");
      PyErr_SetString(error.ptr(), text.c_str());
      throw py::error_already_set();
    }
    case SMM_ERR_OUT_OF_MEMORY:
      throw std::bad_alloc();
    default:
      throw py::value_error(text);
  }
}

// One smm_evaluator, the C ABI's per-thread state (MuJoCo's mjData beside mjModel). Calls
// run without the GIL and without a lock, so evaluators of different threads work at once.
// One evaluator must not be used by two threads at the same time: the second gets a
// RuntimeError naming the fix, instead of a data race.
class EvaluatorCore {
 public:
  EvaluatorCore(const smm_model* model, int threads) : threads_(threads) {
    char error[2048] = "";
    const smm_status status = smm_evaluator_create(&evaluator_, model, threads, error, sizeof error);
    if (status != SMM_OK) raise_status(status, error);
  }
  ~EvaluatorCore() { smm_evaluator_destroy(evaluator_); }
  EvaluatorCore(const EvaluatorCore&) = delete;
  EvaluatorCore& operator=(const EvaluatorCore&) = delete;

  int threads() const { return threads_; }

  // Runs call(evaluator) without the GIL; raises its failure.
  template <typename Call>
  void run(Call&& call) {
    if (busy_.exchange(true))
      throw std::runtime_error("this Evaluator is in use by another thread: give each thread its own "
                               "(stylemm_runtime._native.Evaluator(model), or the model's own calls, which use "
                               "one evaluator per thread)");
    smm_status status;
    std::string message;
    {
      py::gil_scoped_release release;
      status = call(evaluator_);
      if (status != SMM_OK) message = smm_evaluator_message(evaluator_);
    }
    busy_ = false;
    if (status != SMM_OK) raise_status(status, message);
  }

 private:
  smm_evaluator* evaluator_ = nullptr;
  int threads_;
  std::atomic<bool> busy_{false};
};

// One smm_model: immutable, shared by every Python thread. Its own calls (deform, character,
// evaluate_many, Character.evaluate) run on the calling thread's evaluator, made on first use
// and kept in a threading.local, so threads sharing a Model never take turns.
class Model {
 public:
  Model(const py::object& source, int threads) : threads_(threads) {
    char error[2048] = "";
    smm_status status;
    if (py::isinstance<py::bytes>(source)) {
      const std::string data = source.cast<std::string>();
      py::gil_scoped_release release;
      status = smm_model_load_memory(&model_, data.data(), static_cast<long long>(data.size()), error, sizeof error);
    } else {
      const std::string path = py::module_::import("os").attr("fspath")(source).cast<std::string>();
      py::gil_scoped_release release;
      status = smm_model_load(&model_, path.c_str(), error, sizeof error);
    }
    if (status != SMM_OK) raise_status(status, error);
    smm_model_get_info(&info_, model_);
    try {
      per_thread_ = py::module_::import("threading").attr("local")();
      thread_evaluator();  // checks `threads` now rather than at the first call
    } catch (...) {
      per_thread_ = py::object();
      smm_model_destroy(model_);
      throw;
    }
  }
  ~Model() {
    per_thread_ = py::object();  // every thread's evaluator goes before the model (the ABI's order)
    smm_model_destroy(model_);
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const smm_model_info& info() const { return info_; }
  const smm_model* handle() const { return model_; }
  int threads() const { return threads_; }

  // The calling thread's evaluator. It does not hold the model (that would be a cycle through
  // the threading.local): the model outlives it by destroying them first.
  std::shared_ptr<EvaluatorCore> thread_evaluator() {
    py::object found = py::getattr(per_thread_, "evaluator", py::none());
    if (!found.is_none()) return found.cast<std::shared_ptr<EvaluatorCore>>();
    auto made = std::make_shared<EvaluatorCore>(model_, threads_);
    py::setattr(per_thread_, "evaluator", py::cast(made));
    return made;
  }

 private:
  smm_model* model_ = nullptr;
  smm_model_info info_{};
  int threads_;
  py::object per_thread_;  // threading.local: .evaluator, an EvaluatorCore per thread
};

// An evaluator with the model it belongs to, as Python sees it.
struct Evaluator {
  std::shared_ptr<Model> model;
  std::shared_ptr<EvaluatorCore> core;
};

class Character {
 public:
  Character(std::shared_ptr<Model> model, smm_character* handle) : model_(std::move(model)), handle_(handle) {}
  ~Character() { smm_character_destroy(handle_); }
  Character(const Character&) = delete;
  Character& operator=(const Character&) = delete;

  const smm_character* handle() const { return handle_; }
  const std::shared_ptr<Model>& model() const { return model_; }

 private:
  std::shared_ptr<Model> model_;  // a character reads its model's rig: keep it alive
  smm_character* handle_;
};

std::vector<py::ssize_t> mesh_shape(const smm_model_info& info, py::ssize_t count = -1) {
  if (count < 0) return {info.vertices, 3};
  return {count, info.vertices, 3};
}

// The calling thread's evaluator of a model.
Evaluator own_evaluator(const std::shared_ptr<Model>& model) { return Evaluator{model, model->thread_evaluator()}; }

FloatArray deform(const Evaluator& evaluator, const py::handle& shapes_in, const py::handle& expressions_in) {
  const smm_model_info& info = evaluator.model->info();
  const FloatArray shapes = as_float32(shapes_in, "shapes");
  const FloatArray expressions = as_float32(expressions_in, "expressions");
  expect_shape(shapes, "shapes", {"B", info.shape_dim});
  expect_shape(expressions, "expressions", {shapes.shape(0), info.expressions});
  const int count = as_count(shapes.shape(0), "meshes");
  FloatArray out(mesh_shape(info, count));
  if (count == 0) return out;
  evaluator.core->run([&](smm_evaluator* e) {
    return smm_deform(out.mutable_data(), e, shapes.data(), expressions.data(), count);
  });
  return out;
}

std::shared_ptr<Character> bake_character(const Evaluator& evaluator, const py::handle& shape_in,
                                          const py::object& fit_in) {
  const smm_model_info& info = evaluator.model->info();
  const FloatArray shape = as_float32(shape_in, "shape");
  expect_shape(shape, "shape", {info.shape_dim});
  FloatArray fit;
  if (!fit_in.is_none()) {
    fit = as_float32(fit_in, "fit_expressions");
    expect_shape(fit, "fit_expressions", {"S", info.expressions});
  }
  const int n_fit = fit_in.is_none() ? 0 : as_count(fit.shape(0), "fit expressions");
  smm_character* handle = nullptr;
  evaluator.core->run([&](smm_evaluator* e) {
    return smm_character_create(&handle, e, shape.data(), info.shape_dim, n_fit ? fit.data() : nullptr, n_fit);
  });
  return std::make_shared<Character>(evaluator.model, handle);
}

std::shared_ptr<Character> baked_character(const Evaluator& evaluator, const py::handle& neutral_in,
                                           const py::handle& deltas_in) {
  const smm_model_info& info = evaluator.model->info();
  const FloatArray neutral = as_float32(neutral_in, "neutral");
  const FloatArray deltas = as_float32(deltas_in, "deltas");
  expect_shape(neutral, "neutral", {info.vertices, 3});
  expect_shape(deltas, "deltas", {info.expressions, info.vertices, 3});
  const int n_values = as_count(neutral.size() + deltas.size(), "values");
  smm_character* handle = nullptr;
  evaluator.core->run([&](smm_evaluator* e) {
    return smm_character_create_baked(&handle, e, neutral.data(), deltas.data(), n_values);
  });
  return std::make_shared<Character>(evaluator.model, handle);
}

FloatArray bake_array(const Character& character, bool deltas) {
  const smm_model_info& info = character.model()->info();
  FloatArray out = deltas ? FloatArray({info.expressions, info.vertices, 3}) : FloatArray(mesh_shape(info));
  const int size = as_count(out.size(), "values");
  const smm_status status = deltas ? smm_character_get_deltas(out.mutable_data(), character.handle(), size)
                                   : smm_character_get_neutral(out.mutable_data(), character.handle(), size);
  if (status != SMM_OK) raise_status(status, "");
  return out;
}

// Expressions (C, E) and poses (C, J, 3) or None, checked against the model; C = count.
std::pair<FloatArray, FloatArray> frame_inputs(const smm_model_info& info, const py::handle& expressions_in,
                                               const py::object& poses_in, py::ssize_t count, bool single) {
  FloatArray expressions = as_float32(expressions_in, single ? "expression" : "expressions");
  FloatArray poses;
  if (single) {
    expect_shape(expressions, "expression", {info.expressions});
  } else {
    expect_shape(expressions, "expressions", {count, info.expressions});
  }
  if (!poses_in.is_none()) {
    poses = as_float32(poses_in, single ? "pose" : "poses");
    if (single) {
      expect_shape(poses, "pose", {info.joints, 3});
    } else {
      expect_shape(poses, "poses", {count, info.joints, 3});
    }
  }
  return {expressions, poses};
}

py::object frame_result(FloatArray vertices, FloatArray normals, bool with_normals) {
  if (!with_normals) return std::move(vertices);
  return py::make_tuple(vertices, normals);
}

void check_model(const Evaluator& evaluator, const Character& character) {
  if (character.model() != evaluator.model) throw py::value_error("the character comes from another model than the evaluator");
}

py::object evaluate(const Evaluator& evaluator, const Character& character, const py::handle& expression_in,
                    const py::object& pose_in, bool with_normals) {
  check_model(evaluator, character);
  const smm_model_info& info = evaluator.model->info();
  auto [expression, pose] = frame_inputs(info, expression_in, pose_in, 1, true);
  FloatArray vertices(mesh_shape(info));
  FloatArray normals = with_normals ? FloatArray(mesh_shape(info)) : FloatArray();
  const bool posed = !pose_in.is_none();
  evaluator.core->run([&](smm_evaluator* e) {
    return smm_evaluate(vertices.mutable_data(), with_normals ? normals.mutable_data() : nullptr, e,
                        character.handle(), expression.data(), info.expressions, posed ? pose.data() : nullptr,
                        posed ? 3 * info.joints : 0, info.vertices);
  });
  return frame_result(vertices, normals, with_normals);
}

py::object evaluate_many(const Evaluator& evaluator, const std::vector<std::shared_ptr<Character>>& characters,
                         const py::handle& expressions_in, const py::object& poses_in, bool with_normals) {
  const std::shared_ptr<Model>& model = evaluator.model;
  const smm_model_info& info = model->info();
  const py::ssize_t count = static_cast<py::ssize_t>(characters.size());
  auto [expressions, poses] = frame_inputs(info, expressions_in, poses_in, count, false);
  std::vector<const smm_character*> handles;
  for (const auto& character : characters) {
    if (!character) throw py::value_error("characters must not hold None");
    if (character->model() != model) throw py::value_error("every character must come from this model");
    handles.push_back(character->handle());
  }
  FloatArray vertices(mesh_shape(info, count));
  FloatArray normals = with_normals ? FloatArray(mesh_shape(info, count)) : FloatArray();
  if (count == 0) return frame_result(vertices, normals, with_normals);
  const bool posed = !poses_in.is_none();
  evaluator.core->run([&](smm_evaluator* e) {
    return smm_evaluate_many(vertices.mutable_data(), with_normals ? normals.mutable_data() : nullptr, e,
                             handles.data(), expressions.data(), info.expressions, posed ? poses.data() : nullptr,
                             posed ? 3 * info.joints : 0, info.vertices, as_count(count, "characters"));
  });
  return frame_result(vertices, normals, with_normals);
}

py::dict info_dict(const Model& model) {
  const smm_model_info& i = model.info();
  py::dict d;
  d["vertices"] = i.vertices;
  d["triangles"] = i.triangles;
  d["uv_vertices"] = i.uv_vertices;
  d["shape_dim"] = i.shape_dim;
  d["expressions"] = i.expressions;
  d["joints"] = i.joints;
  d["texture_dim"] = i.texture_dim;
  return d;
}

// ---- The tracking solver ---------------------------------------------------------------

// smm_face_solver over numpy arrays. Solves hold the GIL (a frame is well under a
// millisecond), so threads sharing one FaceSolver take turns instead of racing on its state.
class FaceSolver {
 public:
  FaceSolver(const py::handle& rest_in, const py::handle& basis_in, const py::handle& pivot_in,
             const py::handle& head_in, const py::object& weights_in, const std::vector<std::string>& names,
             const smm_solver_settings& settings) {
    const FloatArray rest = as_float32(rest_in, "rest");
    const FloatArray basis = as_float32(basis_in, "basis");
    const FloatArray pivot = as_float32(pivot_in, "pivot");
    const FloatArray head = as_float32(head_in, "head_weight");
    expect_shape(rest, "rest", {"L", 3});
    const py::ssize_t l = rest.shape(0);
    expect_shape(basis, "basis", {"E", l, 3});
    expect_shape(pivot, "pivot", {3});
    expect_shape(head, "head_weight", {l});
    if (static_cast<py::ssize_t>(names.size()) != basis.shape(0))
      throw py::value_error("expression_names has " + std::to_string(names.size()) + " names for " +
                            std::to_string(basis.shape(0)) + " expressions in basis");
    FloatArray weights;
    if (!weights_in.is_none()) {
      weights = as_float32(weights_in, "landmark_weights");
      expect_shape(weights, "landmark_weights", {l});
    }
    std::vector<const char*> pointers;
    for (const std::string& name : names) pointers.push_back(name.c_str());
    char error[512] = "";
    smm_face_solver* handle = nullptr;
    const smm_status status = smm_face_solver_create(
        &handle, rest.data(), basis.data(), pivot.data(), head.data(), weights_in.is_none() ? nullptr : weights.data(),
        pointers.data(), as_count(l, "landmarks"), as_count(basis.shape(0), "expressions"), &settings, error,
        sizeof error);
    if (status != SMM_OK) raise_status(status, error);
    handle_.reset(handle);
    landmarks_ = static_cast<int>(l);
    expressions_ = static_cast<int>(basis.shape(0));
  }

  py::tuple solve(const py::handle& landmarks_in, int width, int height, float focal, const py::object& mask_in) {
    const FloatArray landmarks = as_float32(landmarks_in, "landmarks");
    if (landmarks.ndim() != 2 || landmarks.shape(0) != landmarks_ || (landmarks.shape(1) != 2 && landmarks.shape(1) != 3))
      throw py::value_error("landmarks must have shape (" + std::to_string(landmarks_) + ", 2 or 3), got " +
                            shape_text(landmarks));
    std::vector<unsigned char> mask;
    if (!mask_in.is_none()) {
      const py::array given = as_array(mask_in, "mask");
      expect_shape(given, "mask", {expressions_});
      const auto as_bool = py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(given);
      if (!as_bool) throw py::value_error("mask must be booleans");
      mask.assign(as_bool.data(), as_bool.data() + expressions_);
    }
    FloatArray weights(std::vector<py::ssize_t>{expressions_});
    smm_face_fit fit{};
    const smm_status status =
        smm_face_solver_solve(&fit, weights.mutable_data(), handle_.get(), landmarks.data(),
                              static_cast<int>(landmarks.shape(1)), mask.empty() ? nullptr : mask.data(), width,
                              height, focal, landmarks_, expressions_);
    if (status != SMM_OK) raise_status(status, smm_face_solver_message(handle_.get()));
    FloatArray axis_angle(std::vector<py::ssize_t>{3}), translation(std::vector<py::ssize_t>{3});
    std::copy(fit.axis_angle, fit.axis_angle + 3, axis_angle.mutable_data());
    std::copy(fit.translation, fit.translation + 3, translation.mutable_data());
    return py::make_tuple(weights, axis_angle, translation, fit.rms, fit.cold != 0);
  }

  void reset() { smm_face_solver_reset(handle_.get()); }
  int landmarks() const { return landmarks_; }
  int expressions() const { return expressions_; }

 private:
  struct Destroy {
    void operator()(smm_face_solver* s) const { smm_face_solver_destroy(s); }
  };
  std::unique_ptr<smm_face_solver, Destroy> handle_;
  int landmarks_ = 0, expressions_ = 0;
};

smm_solver_settings solver_settings(double weight_prior, double temporal_prior, double sparsity, double antagonist,
                                    std::pair<double, double> iris_open, int iterations, int cold_iterations) {
  return {weight_prior, temporal_prior, sparsity, antagonist, iris_open.first, iris_open.second, iterations,
          cold_iterations};
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "StyleMM native core: the C ABI of bindings/include/stylemm/stylemm.h over numpy arrays.";
  m.attr("HEADER_VERSION") = STYLEMM_VERSION;
  m.attr("__version__") = std::to_string(STYLEMM_VERSION_MAJOR) + "." + std::to_string(STYLEMM_VERSION_MINOR) +
                          "." + std::to_string(STYLEMM_VERSION_PATCH);
  m.def("version", &smm_version,
        "Version of the linked native library, packed as MAJOR * 10000 + MINOR * 100 + PATCH "
        "(compare with HEADER_VERSION).");
  m.def("blend_shapes", &blend_shapes, py::arg("template"), py::arg("deltas"), py::arg("coeffs"), py::kw_only(),
        py::arg("out") = py::none(),
        "template (N, 3) + sum_k coeffs[k] * deltas[k], deltas (K, N, 3), coeffs (K,) -> (N, 3) float32.\n"
        "out may be template itself (in place). deltas are not scanned for NaN / Inf (model data, checked at "
        "load); skin() refuses the NaN vertices they would give.");
  m.def("joint_transforms", &joint_transforms, py::arg("rest_joints"), py::arg("parents"), py::arg("axis_angle"),
        py::kw_only(), py::arg("out") = py::none(),
        "Skinning matrices (J, 4, 4) float32 of a chain: rest_joints (J, 3), parents (J,) with parents[0] == -1 "
        "and 0 <= parents[j] < j, axis_angle (J, 3) local rotations.");
  m.def("skin", &skin, py::arg("vertices"), py::arg("weights"), py::arg("transforms"), py::kw_only(),
        py::arg("out") = py::none(),
        "Linear blend skinning: vertices (N, 3), weights (N, J), transforms (J, 4, 4) -> (N, 3) float32.\n"
        "out may be vertices itself (in place).");

  m.def("sample_normal", &sample_normal, py::arg("seed"), py::arg("count"),
        "count values ~ N(0, 1) of seed (an integer in [0, 2**64 - 1]) as float32: smm_sample_normal, the same "
        "bits on every platform (stylemm_runtime.seeds reproduces it without the native build).");
  m.def("split_uv_seams", &split_uv_seams, py::arg("faces"), py::arg("uv_faces"), py::arg("vertices"),
        py::arg("uv_vertices"),
        "The render mesh (smm_split_uv_seams): faces and uv_faces (F, 3), vertices N, uv_vertices U -> "
        "(vertex_map (R,), uv_map (R,), triangles (F, 3)) int32: one render vertex per distinct (vertex, UV "
        "vertex) pair the corners use, ordered by vertex, then UV vertex.");

  // Registered so a thread's evaluator can live in the model's threading.local; not for users.
  py::class_<EvaluatorCore, std::shared_ptr<EvaluatorCore>>(m, "_EvaluatorCore");

  py::class_<Model, std::shared_ptr<Model>>(m, "Model",
                                            "A bundle loaded by the native core (smm_model): immutable, shared by "
                                            "all threads. Its calls run on the calling thread's own evaluator, so "
                                            "threads sharing it never take turns.")
      .def(py::init<const py::object&, int>(), py::arg("source"), py::kw_only(), py::arg("threads") = 1,
           "Load a bundle: a path (directory or .smm) or the bytes of a .smm archive. threads: worker threads "
           "of each thread's evaluator, for deform, baking and evaluate_many.")
      .def_property_readonly("info", &info_dict, "Sizes: vertices, triangles, uv_vertices, shape_dim, expressions, "
                                                 "joints, texture_dim.")
      .def_property_readonly("threads", &Model::threads, "Worker threads of the evaluators it makes.")
      .def("evaluator", &own_evaluator, "The calling thread's evaluator, the one this model's own calls use.")
      .def("deform", [](const std::shared_ptr<Model>& m, const py::handle& s, const py::handle& e) {
             return deform(own_evaluator(m), s, e); }, py::arg("shapes"), py::arg("expressions"),
           "The style's deformer evaluated natively: shapes (B, K), expressions (B, E) -> unposed vertices (B, N, 3).")
      .def("character", [](const std::shared_ptr<Model>& m, const py::handle& s, const py::object& fit) {
             return bake_character(own_evaluator(m), s, fit); }, py::arg("shape"), py::kw_only(),
           py::arg("fit_expressions") = py::none(),
           "Bake identity shape (K,) into morph targets: unit deltas, or least squares over the units and "
           "fit_expressions (S, E) as stylemm_runtime.baking's 'fitted'.")
      .def("character_from_morphs", [](const std::shared_ptr<Model>& m, const py::handle& n, const py::handle& d) {
             return baked_character(own_evaluator(m), n, d); }, py::arg("neutral"), py::arg("deltas"),
           "A character from a bake made elsewhere: neutral (N, 3), deltas (E, N, 3).")
      .def("evaluate_many", [](const std::shared_ptr<Model>& m, const std::vector<std::shared_ptr<Character>>& c,
                               const py::handle& e, const py::object& p, bool normals) {
             return evaluate_many(own_evaluator(m), c, e, p, normals); }, py::arg("characters"), py::arg("expressions"),
           py::kw_only(), py::arg("poses") = py::none(), py::arg("normals") = false,
           "Frames of many characters: expressions (C, E), poses (C, J, 3) or None -> vertices (C, N, 3) "
           "[, normals (C, N, 3)], spread over the evaluator's threads.");

  py::class_<Evaluator>(m, "Evaluator",
                        "An evaluator (smm_evaluator) of a Model: the scratch memory of evaluation, as MuJoCo's "
                        "MjData beside MjModel. One per thread: calls release the GIL and take no lock, and a "
                        "second thread using the same Evaluator at once gets a RuntimeError.")
      .def(py::init([](const std::shared_ptr<Model>& model, int threads) {
             return Evaluator{model, std::make_shared<EvaluatorCore>(model->handle(), threads)};
           }), py::arg("model"), py::kw_only(), py::arg("threads") = 1,
           "A new evaluator for model, with `threads` worker threads (1: the calling thread only).")
      .def_property_readonly("model", [](const Evaluator& e) { return e.model; })
      .def_property_readonly("threads", [](const Evaluator& e) { return e.core->threads(); })
      .def("deform", &deform, py::arg("shapes"), py::arg("expressions"),
           "shapes (B, K), expressions (B, E) -> unposed vertices (B, N, 3), as Model.deform.")
      .def("character", &bake_character, py::arg("shape"), py::kw_only(), py::arg("fit_expressions") = py::none(),
           "Bake identity shape (K,), as Model.character.")
      .def("character_from_morphs", &baked_character, py::arg("neutral"), py::arg("deltas"),
           "A character from a bake made elsewhere, as Model.character_from_morphs.")
      .def("evaluate", &evaluate, py::arg("character"), py::arg("expression"), py::kw_only(),
           py::arg("pose") = py::none(), py::arg("normals") = false,
           "One frame of character: expression (E,), pose (J, 3) or None -> vertices (N, 3) [, normals (N, 3)].")
      .def("evaluate_many", &evaluate_many, py::arg("characters"), py::arg("expressions"), py::kw_only(),
           py::arg("poses") = py::none(), py::arg("normals") = false,
           "Frames of many characters, as Model.evaluate_many.");

  py::class_<Character, std::shared_ptr<Character>>(m, "Character", "One identity baked into morph targets.")
      .def("evaluate", [](const Character& c, const py::handle& e, const py::object& p, bool normals) {
             return evaluate(own_evaluator(c.model()), c, e, p, normals); }, py::arg("expression"), py::kw_only(),
           py::arg("pose") = py::none(), py::arg("normals") = false,
           "One frame on the calling thread's evaluator: expression (E,), pose (J, 3) axis-angles or None -> "
           "vertices (N, 3) [, normals (N, 3)].")
      .def_property_readonly("neutral", [](const Character& c) { return bake_array(c, false); }, "(N, 3)")
      .def_property_readonly("deltas", [](const Character& c) { return bake_array(c, true); }, "(E, N, 3)");

  smm_solver_settings defaults{};
  smm_solver_settings_default(&defaults);
  py::class_<FaceSolver>(m, "FaceSolver",
                         "The tracking solver (smm_face_solver): MediaPipe's 478 landmarks in, expression weights "
                         "and the neck's pose out, warm-started frame to frame. stylemm_runtime.tracking."
                         "native_solver.NativeFaceSolver wraps it as a tracking.FaceSolver.")
      .def(py::init([=](const py::handle& rest, const py::handle& basis, const py::handle& pivot,
                        const py::handle& head, const std::vector<std::string>& names, const py::object& weights,
                        double weight_prior, double temporal_prior, double sparsity, double antagonist,
                        std::pair<double, double> iris_open, int iterations, int cold_iterations) {
             return FaceSolver(rest, basis, pivot, head, weights, names,
                               solver_settings(weight_prior, temporal_prior, sparsity, antagonist, iris_open,
                                               iterations, cold_iterations));
           }),
           py::arg("rest"), py::arg("basis"), py::arg("pivot"), py::arg("head_weight"), py::arg("expression_names"),
           py::kw_only(), py::arg("landmark_weights") = py::none(), py::arg("weight_prior") = defaults.weight_prior,
           py::arg("temporal_prior") = defaults.temporal_prior, py::arg("sparsity") = defaults.sparsity,
           py::arg("antagonist") = defaults.antagonist,
           py::arg("iris_open") = std::make_pair(defaults.iris_open_low, defaults.iris_open_high),
           py::arg("iterations") = defaults.iterations, py::arg("cold_iterations") = defaults.cold_iterations,
           "A solver for a landmark model: rest (478, 3), basis (E, 478, 3), pivot (3,), head_weight (478,), E "
           "expression names; landmark_weights (478,) or None for topology.landmark_weights(); the settings of "
           "tracking.SolverSettings.")
      .def("solve", &FaceSolver::solve, py::arg("landmarks"), py::arg("width"), py::arg("height"), py::arg("focal"),
           py::kw_only(), py::arg("mask") = py::none(),
           "landmarks (478, 2 or 3) pixels, the camera (width, height, focal in pixels), mask (E,) bool or None "
           "-> (weights (E,), axis_angle (3,), translation (3,), rms, cold), float32.")
      .def("reset", &FaceSolver::reset, "Forget the previous frame: the next solve starts cold.")
      .def_property_readonly("landmarks", &FaceSolver::landmarks)
      .def_property_readonly("expressions", &FaceSolver::expressions);
}
