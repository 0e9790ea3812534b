// The style's surface-deformation network, evaluated natively from the weights a bundle
// carries (docs/bundle-format.md, "Deformer weights"): two code MLPs, a hypernetwork that
// emits the weights of a per-vertex SIREN, and the SIREN over the normalised template.
// The same computation as training/stylemm/nets/deformer.py and deformer.onnx.
#pragma once

#include <utility>
#include <vector>

#include <Eigen/Core>

#include "sine_layer.h"

namespace stylemm {

class Bundle;

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Linear {
  RowMatrix weight;  // (out, in)
  Eigen::VectorXf bias;
};

// Per-thread working memory of one evaluation, sized once.
struct DeformerScratch {
  Eigen::VectorXf code, hidden, params;
  RowMatrix a, b;  // (N, hidden) activations, ping-ponged between layers
  Eigen::VectorXf weight_t;  // a hidden layer's weights, transposed for the AVX2 kernel
};

class Deformer {
 public:
  // Reads the weights (arrays "deformer.*", manifest networks.deformer.native); throws Error.
  Deformer(const Bundle& bundle, int shape_dim, int expression_dim, int vertices);

  DeformerScratch scratch() const;
  // Unposed vertices (N, 3) for one (shape (K), expression (E)) into out.
  void evaluate(const float* shape, const float* expression, float* out, DeformerScratch& scratch) const;

 private:
  Linear shape_hidden_, shape_out_, expression_hidden_, expression_out_, hyper_hidden_, hyper_out_;
  std::vector<std::pair<int, int>> layers_;  // SIREN (in, out) per layer
  float w0_ = 30.0f;
  RowMatrix template_;    // (N, 3)
  RowMatrix normalised_;  // (template - centre) / scale
  float scale_ = 1.0f;
  SineLayer sine_layer_ = avx2_sine_layer();  // null: Eigen's products and sine for the hidden layers
};

}  // namespace stylemm
