/* StyleMM native core: the C ABI that game engines and other languages bind to.
 *
 * Habits (after MuJoCo's mujoco.h and meshoptimizer):
 *  - One header. STYLEMM_VERSION is the version this header describes; compare it with
 *    smm_version() of the library actually loaded and refuse to run on a mismatch.
 *  - Every function returns an smm_status and writes only into buffers the caller owns,
 *    output first, then inputs, then counts. On any error nothing is written.
 *  - Nothing allocates, nothing throws, nothing keeps state: safe to call from any thread.
 *  - Arrays are float32 in C order (row-major); counts are int.
 *  - Inputs are checked for NaN / Inf, so a bad value is reported where it enters instead
 *    of silently spreading through a character's mesh. The one exception is the morph
 *    targets of smm_blend_shapes (see there).
 */
#ifndef STYLEMM_STYLEMM_H_
#define STYLEMM_STYLEMM_H_

#define STYLEMM_VERSION_MAJOR 0
#define STYLEMM_VERSION_MINOR 1
#define STYLEMM_VERSION_PATCH 0
/* Packed as MAJOR * 10000 + MINOR * 100 + PATCH, the value smm_version() returns. */
#define STYLEMM_VERSION (STYLEMM_VERSION_MAJOR * 10000 + STYLEMM_VERSION_MINOR * 100 + STYLEMM_VERSION_PATCH)

/* SMM_API marks the exported functions. Define STYLEMM_STATIC when compiling the sources
 * straight into another binary (an engine plugin, for example); STYLEMM_BUILDING is set
 * only while building the shared library itself. */
#if defined(STYLEMM_STATIC)
#  define SMM_API
#elif defined(_WIN32) || defined(__CYGWIN__)
#  if defined(STYLEMM_BUILDING)
#    define SMM_API __declspec(dllexport)
#  else
#    define SMM_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define SMM_API __attribute__((visibility("default")))
#else
#  define SMM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The values are part of the ABI (bindings in other languages hard-code them): never
 * renumber, only append. */
typedef enum smm_status_ {
  SMM_OK = 0,
  SMM_ERR_INVALID_ARGUMENT = 1, /* a count is not positive, or the arrays it implies cannot exist */
  SMM_ERR_NON_FINITE = 2,       /* an input holds NaN or Inf */
  SMM_ERR_NULL_POINTER = 3,     /* a required pointer is NULL */
  SMM_ERR_INVALID_PARENTS = 4   /* parents[0] != -1, or some parents[j] is not in [0, j) */
} smm_status;

/* STYLEMM_VERSION of the library actually loaded. */
SMM_API int smm_version(void);

/* A static, human-readable description of a status code (never NULL, never freed). */
SMM_API const char* smm_status_string(smm_status status);

/* Blend shapes: out = template + sum_k coeffs[k] * deltas[k].
 *   out:               (n_vertices, 3); may be the same buffer as template_vertices (in place),
 *                      must not overlap deltas or coeffs
 *   template_vertices: (n_vertices, 3)
 *   deltas:            (n_shapes, n_vertices, 3), one morph target after another (as engines store them).
 *                      Not checked for NaN / Inf: they are constant model data, checked once when a model
 *                      is loaded, and scanning them on every call would cost more than the blend itself.
 *                      A NaN there comes out as NaN vertices, which smm_skin then refuses.
 *   coeffs:            (n_shapes) */
SMM_API smm_status smm_blend_shapes(float* out, const float* template_vertices, const float* deltas,
                                    const float* coeffs, int n_vertices, int n_shapes);

/* Skinning matrices of a joint chain posed by local axis-angle rotations (SMPL / FLAME
 * convention): joint j's local transform is [R_j | rest_j - rest_parent(j)], and the
 * skinning matrix is its world transform with the rest position taken out, so it maps
 * rest-pose positions to posed positions.
 *   out:         (n_joints, 4, 4) row-major matrices; must not overlap the inputs
 *   rest_joints: (n_joints, 3) rest positions
 *   parents:     (n_joints), parents[0] == -1 and 0 <= parents[j] < j (parents come first)
 *   axis_angle:  (n_joints, 3) local rotations, axis times angle in radians */
SMM_API smm_status smm_joint_transforms(float* out, const float* rest_joints, const int* parents,
                                        const float* axis_angle, int n_joints);

/* Linear blend skinning: out[i] = sum_j weights[i, j] * (transforms[j] @ (vertices[i], 1))[:3].
 *   out:        (n_vertices, 3); may be the same buffer as vertices (in place), must not
 *               overlap weights or transforms
 *   vertices:   (n_vertices, 3) rest-pose positions
 *   weights:    (n_vertices, n_joints), rows summing to 1 (not checked: that is a property of
 *               the asset, checked once when it is loaded, not on every frame)
 *   transforms: (n_joints, 4, 4) row-major, e.g. from smm_joint_transforms; the bottom row
 *               is ignored */
SMM_API smm_status smm_skin(float* out, const float* vertices, const float* weights, const float* transforms,
                            int n_vertices, int n_joints);

#ifdef __cplusplus
}
#endif

#endif /* STYLEMM_STYLEMM_H_ */
