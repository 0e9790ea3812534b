/* StyleMM native core: the C ABI that game engines and other languages bind to.
 *
 * Habits (after MuJoCo's mujoco.h and meshoptimizer):
 *  - One header. STYLEMM_VERSION is the version this header describes; pass it to
 *    smm_check_version() once, before anything else, to refuse a library of another version.
 *  - Every fallible function returns an smm_status and writes only into buffers the caller
 *    owns, output first, then inputs, then counts. On any error nothing is written.
 *  - Arrays are float32 in C order (row-major); counts are int.
 *  - Inputs are checked for NaN / Inf, so a bad value is reported where it enters instead
 *    of silently spreading through a character's mesh. The one exception is the morph
 *    targets of smm_blend_shapes (see there).
 *  - Nothing throws. Messages live with handles, never in a process-wide "last error":
 *    functions that make a handle write their message into a caller's buffer (error,
 *    error_size; may be NULL / 0), per-frame functions keep it in their smm_evaluator.
 *
 * Handles and threads (MuJoCo's mjModel / mjData split):
 *  - smm_model: one bundle, immutable once loaded. Share it among all threads.
 *  - smm_character: one identity's baked morph targets, immutable once created. Share it too.
 *  - smm_evaluator: the scratch memory of evaluation, sized once for a model. One per thread;
 *    with it, evaluating a frame allocates nothing.
 *  - smm_face_solver: one tracked face's solver state. One per face and thread.
 * The stateless functions (blend shapes, joint transforms, skinning) allocate nothing, keep
 * nothing and are safe from any thread.
 */
#ifndef STYLEMM_STYLEMM_H_
#define STYLEMM_STYLEMM_H_

#define STYLEMM_VERSION_MAJOR 0
#define STYLEMM_VERSION_MINOR 3
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

#include <stdint.h> /* uint64_t, for seeds */

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
  SMM_ERR_INVALID_PARENTS = 4,  /* parents[0] != -1, or some parents[j] is not in [0, j) */
  SMM_ERR_IO = 5,               /* a file is missing or cannot be read */
  SMM_ERR_BAD_BUNDLE = 6,       /* not a bundle, or a damaged, truncated or modified one */
  SMM_ERR_VERSION = 7,          /* a newer bundle format, or a library of another version than the header */
  SMM_ERR_SIZE = 8,             /* a buffer's size or a count does not match the model */
  SMM_ERR_OUT_OF_MEMORY = 9,
  SMM_ERR_UNSUPPORTED = 10      /* the bundle lacks what the call needs (e.g. the deformer's weights) */
} smm_status;

/* STYLEMM_VERSION of the library actually loaded. */
SMM_API int smm_version(void);

/* A static, human-readable description of a status code (never NULL, never freed). */
SMM_API const char* smm_status_string(smm_status status);

/* SMM_OK if a caller compiled against header_version (pass STYLEMM_VERSION) may use this
 * library: same MAJOR and MINOR (before 1.0 a minor release may change the ABI), else
 * SMM_ERR_VERSION. */
SMM_API smm_status smm_check_version(int header_version);

/* ---- Models ------------------------------------------------------------------------------ */

typedef struct smm_model_ smm_model;

/* Sizes of a model, for sizing buffers. A plain struct of ints: blittable from C# and the like. */
typedef struct smm_model_info_ {
  int vertices;     /* N */
  int triangles;    /* F */
  int uv_vertices;  /* U: vertices of the UV layout (seams split vertices, so U >= N) */
  int shape_dim;    /* K */
  int expressions;  /* E */
  int joints;       /* J */
  int texture_dim;  /* Z, the latent of texture.onnx (the native core makes no textures) */
} smm_model_info;

/* Load a bundle (docs/bundle-format.md): a directory or a .smm file. Every file is checked
 * against its size and sha256 in the manifest before use. On success *out is a new model
 * (free it with smm_model_destroy); on failure *out is NULL and error holds the reason. */
SMM_API smm_status smm_model_load(smm_model** out, const char* path, char* error, int error_size);

/* The same from a .smm archive in memory (e.g. read from an engine's asset system). The
 * model keeps its own copy: data may be freed when this returns. */
SMM_API smm_status smm_model_load_memory(smm_model** out, const void* data, long long size, char* error,
                                         int error_size);

/* Frees a model. NULL is ignored. Characters and evaluators made from it must be destroyed first. */
SMM_API void smm_model_destroy(smm_model* model);

SMM_API smm_status smm_model_get_info(smm_model_info* out, const smm_model* model);

/* Copies of the model's topology, for building an engine mesh. size is the element count of
 * out and must equal the array's: faces and uv_faces 3F ints (uv_faces none when U is 0: a
 * model without a UV layout), uvs 2U floats (origin at the image's top-left, as glTF),
 * template 3N floats (the source model's mean mesh). */
SMM_API smm_status smm_model_get_faces(int* out, const smm_model* model, int size);
SMM_API smm_status smm_model_get_uv_faces(int* out, const smm_model* model, int size);
SMM_API smm_status smm_model_get_uvs(float* out, const smm_model* model, int size);
SMM_API smm_status smm_model_get_template(float* out, const smm_model* model, int size);

/* Name of expression `index` (an ARKit blend shape name for OpenHead) or of joint `index`,
 * NUL-terminated, into out (size bytes; SMM_ERR_SIZE if it does not fit). */
SMM_API smm_status smm_model_get_expression_name(char* out, const smm_model* model, int index, int size);
SMM_API smm_status smm_model_get_joint_name(char* out, const smm_model* model, int index, int size);

/* Index of the expression called `name`, or -1 (also for NULL arguments). */
SMM_API int smm_model_find_expression(const smm_model* model, const char* name);

/* The render mesh engines and glTF draw: a GPU vertex has one position and one UV, and a
 * mesh vertex on a UV seam has several UV vertices (faces index vertices, uv_faces index UV
 * vertices, corner for corner). Every distinct (vertex, UV vertex) pair that a corner uses
 * becomes one render vertex, numbered in order of vertex, then of UV vertex (so UV vertices
 * no triangle uses are left out, and a UV vertex shared by two vertices is two render
 * vertices). Each engine sample and stylemm-export's glTF use this one split.
 *   n_render:   out: R, the number of render vertices
 *   vertex_map: (R) out: the mesh vertex of each render vertex (copy positions and normals through it)
 *   uv_map:     (R) out: its UV vertex (its texture coordinates are uvs[uv_map[r]])
 *   triangles:  (F, 3) out: the triangles over the render vertices, corner for corner as faces
 *   faces, uv_faces: (F, 3), e.g. from smm_model_get_faces / smm_model_get_uv_faces;
 *   n_triangles = F, n_vertices = N, n_uv_vertices = U: every index must lie in its range
 *   capacity:   R, the element count of vertex_map and uv_map.
 * Call it twice: with vertex_map, uv_map and triangles NULL and capacity 0 to learn R, then
 * with buffers of R, R and 3F ints. Takes O(N + F) temporary memory (a load-time call, not a
 * per-frame one); safe from any thread. */
SMM_API smm_status smm_split_uv_seams(int* n_render, int* vertex_map, int* uv_map, int* triangles, const int* faces,
                                      const int* uv_faces, int n_triangles, int n_vertices, int n_uv_vertices,
                                      int capacity);

/* ---- Seeds: a seed is a character everywhere ----------------------------------------------- */

/* `count` values ~ N(0, 1) drawn from `seed`, the same bits on every platform, compiler and
 * language. The character of a seed is the first K + Z values of its stream: shape = the
 * first K (smm_model_info.shape_dim), texture_z = the next Z (texture_dim). stylemm_runtime's
 * Model.character(seed=...) and the Unity and Unreal samples all make characters this way,
 * so a seed picked in Python is the same face in an engine. The stream does not depend on
 * count: a shorter draw is a prefix of a longer one. (Output first, as in every function here.)
 *
 * The algorithm, bit for bit (docs/native.md; runtime/stylemm_runtime/seeds.py reproduces it
 * in numpy). All arithmetic is IEEE-754 binary64, each operation rounded to nearest, in the
 * order written, with no fused multiply-add; integers are uint64 modulo 2^64:
 *   draw(i) = SplitMix64 output i:
 *       z = seed + (i + 1) * 0x9E3779B97F4A7C15
 *       z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *       z = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *       draw(i) = z ^ (z >> 31)
 *   uniform(i) = ((double)(draw(i) >> 11) - 2^52) * 2^-52            (exact, in [-1, 1))
 *   for attempt a = 0, 1, 2, ...  (Marsaglia's polar method):
 *       u = uniform(2a), v = uniform(2a + 1), s = u * u + v * v
 *       if s >= 1 or s == 0: next attempt
 *       r = sqrt((-2 * log(s)) / s)
 *       append (float)(u * r), then (float)(v * r)   (round to nearest; stop at count values)
 *   log(s) is fdlibm's e_log.c kernel, not the C library's: with b the bits of s,
 *       k = (b >> 52) - 1023, mantissa = b & (2^52 - 1);
 *       if mantissa > 0x6A09E667F3BCD: m = the double with bits mantissa | 0x3FE0000000000000, k = k + 1
 *       else:                           m = the double with bits mantissa | 0x3FF0000000000000
 *       f = m - 1, t = f / (2 + f), z = t * t, w = z * z
 *       t1 = w * (Lg2 + w * (Lg4 + w * Lg6)), t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)))
 *       R = t2 + t1, h = 0.5 * f * f  (that is (0.5 * f) * f)
 *       log(s) = k * Ln2Hi - ((h - (t * (h + R) + k * Ln2Lo)) - f)   (k converted to double)
 *   with fdlibm's constants Ln2Hi = 6.93147180369123816490e-01, Ln2Lo = 1.90821492927058770002e-10,
 *       Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
 *       Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
 *       Lg7 = 1.479819860511658591e-01.
 * count 0 writes nothing (out may be NULL); SMM_ERR_INVALID_ARGUMENT for a negative count,
 * SMM_ERR_NULL_POINTER for a NULL out with count > 0. Allocates nothing; safe from any thread. */
SMM_API smm_status smm_sample_normal(float* out, uint64_t seed, int count);

/* ---- Evaluators: per-thread scratch memory and messages ----------------------------------- */

typedef struct smm_evaluator_ smm_evaluator;

/* An evaluator for `model`, with scratch memory for `threads` worker threads (>= 1; 1 runs
 * everything on the calling thread). It keeps the message of its last failed call. Use one
 * per thread: an evaluator is not itself thread-safe. Destroy it before its model. */
SMM_API smm_status smm_evaluator_create(smm_evaluator** out, const smm_model* model, int threads, char* error,
                                        int error_size);
SMM_API void smm_evaluator_destroy(smm_evaluator* evaluator);

/* The message of the evaluator's last failed call ("" after a success). Valid until its next
 * call; never NULL for a non-NULL evaluator. */
SMM_API const char* smm_evaluator_message(const smm_evaluator* evaluator);

/* The style's deformer, evaluated natively (the exact network, no baking): vertices of
 * `count` (shape, expression) pairs, unposed. Needs the deformer's weights in the bundle
 * (SMM_ERR_UNSUPPORTED otherwise: re-export it with a newer stylemm-export).
 *   out:         (count, N, 3)
 *   shapes:      (count, K)
 *   expressions: (count, E) */
SMM_API smm_status smm_deform(float* out, smm_evaluator* evaluator, const float* shapes, const float* expressions,
                              int count);

/* ---- Characters: one identity, baked into morph targets ---------------------------------- */

typedef struct smm_character_ smm_character;

/* Bake the identity `shape` (K values, ~N(0, 1) each) under the evaluator's model: a neutral
 * mesh and one morph delta per expression, so a frame is a blend plus skinning. The deformer
 * is not linear in the expression, so the deltas are an approximation:
 *  - fit_expressions NULL, n_fit 0: delta_k = (D(shape, r e_k) - D(shape, 0)) / r, with r the
 *    top of the expression range (1 for ARKit weights);
 *  - else least squares over those units and the n_fit given combinations (n_fit, E), as
 *    stylemm_runtime's "fitted" bake: it spreads the error over the combinations animation uses.
 * Evaluates the deformer 1 + E + n_fit times (about 0.2 s for OpenHead on 2 threads, over a
 * second when fitted on 256 combinations): create characters at load time, not per frame.
 * The character outlives the evaluator if need be, not the model: destroy it first. */
SMM_API smm_status smm_character_create(smm_character** out, smm_evaluator* evaluator, const float* shape,
                                        int shape_dim, const float* fit_expressions, int n_fit);

/* A character from morph targets baked elsewhere (by stylemm_runtime, or shipped with a game):
 *   neutral: (N, 3); deltas: (E, N, 3), one morph target after another; n_values 3N(E + 1). */
SMM_API smm_status smm_character_create_baked(smm_character** out, smm_evaluator* evaluator, const float* neutral,
                                              const float* deltas, int n_values);

/* Frees a character. NULL is ignored. */
SMM_API void smm_character_destroy(smm_character* character);

/* The character's bake, for engines that animate with their own (GPU) morph targets:
 * neutral 3N floats, deltas 3EN floats (size = element count of out, must match). */
SMM_API smm_status smm_character_get_neutral(float* out, const smm_character* character, int size);
SMM_API smm_status smm_character_get_deltas(float* out, const smm_character* character, int size);

/* ---- Per frame ---------------------------------------------------------------------------- */

/* One frame of one character: blend the morph targets by `expression` (E weights; zero
 * weights cost nothing), pose by linear blend skinning about the character's own joints
 * (`pose`: J local axis-angle rotations in radians, 3J values; NULL for the rest pose), and,
 * if `normals` is not NULL, the posed mesh's area-weighted vertex normals (unit length).
 *   vertices, normals: (N, 3), n_vertices = N; expression: E weights, n_expressions = E;
 *   n_pose = 3J (0 with a NULL pose).
 * Allocates nothing. The character must come from the evaluator's model. */
SMM_API smm_status smm_evaluate(float* vertices, float* normals, smm_evaluator* evaluator,
                                const smm_character* character, const float* expression, int n_expressions,
                                const float* pose, int n_pose, int n_vertices);

/* A crowd: frame c of characters[c] for c < count, spread over the evaluator's threads.
 * vertices, normals (may be NULL): (count, N, 3); expressions (count, E); poses (count, J, 3)
 * or NULL; the other counts as for smm_evaluate. Results equal smm_evaluate's, bit for bit. */
SMM_API smm_status smm_evaluate_many(float* vertices, float* normals, smm_evaluator* evaluator,
                                     const smm_character* const* characters, const float* expressions,
                                     int n_expressions, const float* poses, int n_pose, int n_vertices, int count);

/* ---- Stateless building blocks ------------------------------------------------------------ */

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

/* ---- Tracking: landmarks in, expression weights and head pose out -------------------------- */

/* The face tracker's solver (docs/native.md, "The tracking solver"), the same fit as
 * stylemm_runtime.tracking.FaceSolver: Gauss-Newton on the reprojection error of a character's
 * landmark model through a pinhole camera, jointly in the head rotation, the translation and
 * the E expression weights bounded to [0, 1], warm-started from the previous frame. An engine
 * feeds it landmarks from any detector that gives MediaPipe's 478-point face mesh.
 *
 * Conventions. Camera at the origin looking down -Z, +Y up (OpenGL / glTF axes); pixel (0, 0)
 * is the image's top-left corner and the optical axis goes through the image centre (width / 2,
 * height / 2); focal length in pixels. Landmarks are pixels, (L, 2), or (L, 3) with MediaPipe's
 * relative depth (pixels, larger = further), which only seeds the first frame's rotation. The
 * result is the `neck` joint's local axis-angle (the runtime's pose convention: pass it as that
 * joint's rotation to smm_evaluate) and the translation (metres, camera frame) that puts the
 * posed character's landmarks on the image.
 *
 * smm_face_solver: one tracked face's state (the previous frame), with its own scratch memory
 * and message. Not thread-safe: one per face and thread. It copies the landmark model, so it
 * depends on no other handle. A warm frame allocates nothing. */
typedef struct smm_face_solver_ smm_face_solver;

/* How hard the fit pulls where the landmarks say little (stylemm_runtime's SolverSettings;
 * docs/tracking.md). Fill it with smm_solver_settings_default, then change what you need.
 * Priors are in squared inter-ocular distances per unit of weight. */
typedef struct smm_solver_settings_ {
  double weight_prior;   /* pull of every weight to 0 (1e-2) */
  double temporal_prior; /* pull to the previous frame's weights (5e-3) */
  double sparsity;       /* an L1 cost per unit of weight (1e-2) */
  double antagonist;     /* a cost on a unit per unit of its antagonist's previous weight (0.1) */
  double iris_open_low;  /* eye openness (lid gap / eye width, over the rest face's) below which */
  double iris_open_high; /* the iris stops counting and the gaze holds, ramping up to high (0.35, 0.7) */
  int iterations;        /* Gauss-Newton steps on a warm frame (1), >= 1 */
  int cold_iterations;   /* on the first frame or after smm_face_solver_reset (12), >= 1 */
} smm_solver_settings;

/* One frame's fit; the weights go into a caller's buffer beside it. */
typedef struct smm_face_fit_ {
  float axis_angle[3];  /* the neck joint's rotation, axis times angle in radians */
  float translation[3]; /* metres, camera frame */
  float rms;            /* weighted RMS reprojection error in inter-ocular distances (0 = explained exactly) */
  int cold;             /* 1 if this frame started from scratch (first frame or after a reset), else 0 */
} smm_face_fit;

/* The defaults above into *out. SMM_ERR_NULL_POINTER for a NULL out. */
SMM_API smm_status smm_solver_settings_default(smm_solver_settings* out);

/* A solver for one character's landmark model (stylemm_runtime.tracking.LandmarkModel: the
 * baked character's morph targets at MediaPipe's 478 embedded points, plus the detector's
 * response where one ships; stylemm_runtime.native().FaceSolver builds it from Python):
 *   rest:              (L, 3) neutral landmarks, metres, unposed
 *   basis:             (E, L, 3) landmark deltas per expression unit
 *   pivot:             (3) the neck joint's rest position: the head turns about it
 *   head_weight:       (L) how much each landmark follows the neck joint (1 on the face)
 *   landmark_weights:  (L) >= 0, each landmark's say in the fit (0: not used); NULL for the
 *                      defaults (topology.landmark_weights(): eyes and iris 3, brows and lips
 *                      1.5, the face outline 0.3, the rest 1)
 *   expression_names:  E NUL-terminated names: the antagonist pairs (eyeLookIn / eyeLookOut,
 *                      mouthClose / jawOpen, ...) and the gaze units held through a blink
 *                      (eyeLook*Left / *Right) are found by name, as ARKit names them
 *   n_landmarks:       L, which must be 478 (MediaPipe's topology: the eye and iris indices
 *                      are MediaPipe's); SMM_ERR_SIZE otherwise
 *   n_expressions:     E >= 1
 *   settings:          NULL for the defaults
 * The arrays are copied. On failure *out is NULL and error holds the reason. */
SMM_API smm_status smm_face_solver_create(smm_face_solver** out, const float* rest, const float* basis,
                                          const float* pivot, const float* head_weight,
                                          const float* landmark_weights, const char* const* expression_names,
                                          int n_landmarks, int n_expressions, const smm_solver_settings* settings,
                                          char* error, int error_size);

/* Frees a solver. NULL is ignored. */
SMM_API void smm_face_solver_destroy(smm_face_solver* solver);

/* One frame:
 *   out:         the pose and error
 *   weights:     (E) out: the expression weights, in [0, 1]; n_weights = E
 *   landmarks:   (L, dims) pixels, dims 2 or 3 (see above); n_landmarks = L
 *   mask:        (E) bytes, nonzero where the unit may move (the others stay 0), or NULL for all
 *   width, height, focal: the camera (pixels, all > 0)
 * Warm-started from the previous frame unless this is the first or the solver was reset. On
 * any error nothing is written and the solver keeps its state, except for landmarks that
 * give no pose (all on one point, or a fit that diverges: SMM_ERR_INVALID_ARGUMENT), after
 * which the next frame starts cold. The message stays in the solver. */
SMM_API smm_status smm_face_solver_solve(smm_face_fit* out, float* weights, smm_face_solver* solver,
                                         const float* landmarks, int dims, const unsigned char* mask, int width,
                                         int height, float focal, int n_landmarks, int n_weights);

/* Forget the previous frame (the face was lost, or another performer): the next solve starts
 * from scratch (cold_iterations, from the landmarks alone). */
SMM_API smm_status smm_face_solver_reset(smm_face_solver* solver);

/* The message of the solver's last failed call ("" after a success); never NULL for a
 * non-NULL solver. Valid until its next call. */
SMM_API const char* smm_face_solver_message(const smm_face_solver* solver);

#ifdef __cplusplus
}
#endif

#endif /* STYLEMM_STYLEMM_H_ */
