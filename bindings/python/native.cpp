// stylemm_runtime._native: the C ABI (stylemm.h) over numpy arrays: the stateless building
// blocks as functions, and Model / Character over the handles.
//
// Inputs of any real dtype and layout are converted to float32 C order (a copy only when
// needed); anything else is rejected with a ValueError naming the argument. `out=`, when
// given, must already be float32, C-contiguous and of the result's shape: like the C ABI
// it is then written in place and nothing is allocated.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
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

// One smm_model and one evaluator. Python threads may share a Model, so calls on its
// evaluator take turns (the evaluator is the per-thread state of the C ABI).
class Model {
 public:
  Model(const py::object& source, int threads) {
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
    status = smm_evaluator_create(&evaluator_, model_, threads, error, sizeof error);
    if (status != SMM_OK) {
      smm_model_destroy(model_);
      raise_status(status, error);
    }
    smm_model_get_info(&info_, model_);
  }
  ~Model() {
    smm_evaluator_destroy(evaluator_);
    smm_model_destroy(model_);
  }
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const smm_model_info& info() const { return info_; }
  const smm_model* handle() const { return model_; }

  // Runs call(evaluator) without the GIL, one caller at a time; raises its failure.
  template <typename Call>
  void run(Call&& call) {
    smm_status status;
    std::string message;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      status = call(evaluator_);
      if (status != SMM_OK) message = smm_evaluator_message(evaluator_);
    }
    if (status != SMM_OK) raise_status(status, message);
  }

 private:
  smm_model* model_ = nullptr;
  smm_evaluator* evaluator_ = nullptr;
  smm_model_info info_{};
  std::mutex mutex_;
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

FloatArray deform(const std::shared_ptr<Model>& model, const py::handle& shapes_in, const py::handle& expressions_in) {
  const smm_model_info& info = model->info();
  const FloatArray shapes = as_float32(shapes_in, "shapes");
  const FloatArray expressions = as_float32(expressions_in, "expressions");
  expect_shape(shapes, "shapes", {"B", info.shape_dim});
  expect_shape(expressions, "expressions", {shapes.shape(0), info.expressions});
  const int count = as_count(shapes.shape(0), "meshes");
  FloatArray out(mesh_shape(info, count));
  if (count == 0) return out;
  model->run([&](smm_evaluator* e) { return smm_deform(out.mutable_data(), e, shapes.data(), expressions.data(), count); });
  return out;
}

std::shared_ptr<Character> bake_character(const std::shared_ptr<Model>& model, const py::handle& shape_in,
                                          const py::object& fit_in) {
  const smm_model_info& info = model->info();
  const FloatArray shape = as_float32(shape_in, "shape");
  expect_shape(shape, "shape", {info.shape_dim});
  FloatArray fit;
  if (!fit_in.is_none()) {
    fit = as_float32(fit_in, "fit_expressions");
    expect_shape(fit, "fit_expressions", {"S", info.expressions});
  }
  const int n_fit = fit_in.is_none() ? 0 : as_count(fit.shape(0), "fit expressions");
  smm_character* handle = nullptr;
  model->run([&](smm_evaluator* e) {
    return smm_character_create(&handle, e, shape.data(), info.shape_dim, n_fit ? fit.data() : nullptr, n_fit);
  });
  return std::make_shared<Character>(model, handle);
}

std::shared_ptr<Character> baked_character(const std::shared_ptr<Model>& model, const py::handle& neutral_in,
                                           const py::handle& deltas_in) {
  const smm_model_info& info = model->info();
  const FloatArray neutral = as_float32(neutral_in, "neutral");
  const FloatArray deltas = as_float32(deltas_in, "deltas");
  expect_shape(neutral, "neutral", {info.vertices, 3});
  expect_shape(deltas, "deltas", {info.expressions, info.vertices, 3});
  const int n_values = as_count(neutral.size() + deltas.size(), "values");
  smm_character* handle = nullptr;
  model->run([&](smm_evaluator* e) {
    return smm_character_create_baked(&handle, e, neutral.data(), deltas.data(), n_values);
  });
  return std::make_shared<Character>(model, handle);
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

py::object evaluate(const Character& character, const py::handle& expression_in, const py::object& pose_in,
                    bool with_normals) {
  const std::shared_ptr<Model>& model = character.model();
  const smm_model_info& info = model->info();
  auto [expression, pose] = frame_inputs(info, expression_in, pose_in, 1, true);
  FloatArray vertices(mesh_shape(info));
  FloatArray normals = with_normals ? FloatArray(mesh_shape(info)) : FloatArray();
  const bool posed = !pose_in.is_none();
  model->run([&](smm_evaluator* e) {
    return smm_evaluate(vertices.mutable_data(), with_normals ? normals.mutable_data() : nullptr, e,
                        character.handle(), expression.data(), info.expressions, posed ? pose.data() : nullptr,
                        posed ? 3 * info.joints : 0, info.vertices);
  });
  return frame_result(vertices, normals, with_normals);
}

py::object evaluate_many(const std::shared_ptr<Model>& model, const std::vector<std::shared_ptr<Character>>& characters,
                         const py::handle& expressions_in, const py::object& poses_in, bool with_normals) {
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
  model->run([&](smm_evaluator* e) {
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

  py::class_<Model, std::shared_ptr<Model>>(m, "Model",
                                            "A bundle loaded by the native core (smm_model) with one evaluator. "
                                            "Safe to share between threads: its calls take turns.")
      .def(py::init<const py::object&, int>(), py::arg("source"), py::kw_only(), py::arg("threads") = 1,
           "Load a bundle: a path (directory or .smm) or the bytes of a .smm archive. threads: worker threads "
           "for deform, baking and evaluate_many.")
      .def_property_readonly("info", &info_dict, "Sizes: vertices, triangles, uv_vertices, shape_dim, expressions, "
                                                 "joints, texture_dim.")
      .def("deform", &deform, py::arg("shapes"), py::arg("expressions"),
           "The style's deformer evaluated natively: shapes (B, K), expressions (B, E) -> unposed vertices (B, N, 3).")
      .def("character", &bake_character, py::arg("shape"), py::kw_only(), py::arg("fit_expressions") = py::none(),
           "Bake identity shape (K,) into morph targets: unit deltas, or least squares over the units and "
           "fit_expressions (S, E) as stylemm_runtime.baking's 'fitted'.")
      .def("character_from_morphs", &baked_character, py::arg("neutral"), py::arg("deltas"),
           "A character from a bake made elsewhere: neutral (N, 3), deltas (E, N, 3).")
      .def("evaluate_many", &evaluate_many, py::arg("characters"), py::arg("expressions"), py::kw_only(),
           py::arg("poses") = py::none(), py::arg("normals") = false,
           "Frames of many characters: expressions (C, E), poses (C, J, 3) or None -> vertices (C, N, 3) "
           "[, normals (C, N, 3)], spread over the model's threads.");

  py::class_<Character, std::shared_ptr<Character>>(m, "Character", "One identity baked into morph targets.")
      .def("evaluate", &evaluate, py::arg("expression"), py::kw_only(), py::arg("pose") = py::none(),
           py::arg("normals") = false,
           "One frame: expression (E,), pose (J, 3) axis-angles or None -> vertices (N, 3) [, normals (N, 3)].")
      .def_property_readonly("neutral", [](const Character& c) { return bake_array(c, false); }, "(N, 3)")
      .def_property_readonly("deltas", [](const Character& c) { return bake_array(c, true); }, "(E, N, 3)");
}
