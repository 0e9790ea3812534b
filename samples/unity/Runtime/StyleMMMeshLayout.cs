// The bundle's mesh laid out for Unity's renderer. Plain C# (no UnityEngine types), so the
// test suite compiles and checks it with mono alongside StyleMMNative.cs.
//
// A bundle has N position vertices and U >= N UV vertices: seams need one vertex per side,
// with the same position and different UVs. faces (F, 3) index positions, uv_faces (F, 3)
// index UVs, corner for corner. A Unity mesh has one index buffer, so it is built on the U
// UV vertices, and each frame the N evaluated positions are copied to them through
// UvToPosition.
//
// Axes: the bundle uses glTF's (+Y up, +Z towards the viewer, right-handed, metres); Unity
// is left-handed (+Y up, +Z forward). Positions and normals become Unity's by negating X:
// the face still looks along +Z and the subject's left lands at -X, as for any Unity
// character. Negating X is a mirror, and a mirror reverses the turn of every triangle, so
// the winding is reversed too (see ReverseWinding). UVs: glTF's origin is the image's
// top-left, Unity's the bottom-left, so v becomes 1 - v.

using System;

namespace StyleMM
{
    public sealed class StyleMMMeshLayout
    {
        /// <summary>U entries: the position vertex each render (UV) vertex takes its position from.</summary>
        public readonly int[] UvToPosition;

        /// <summary>3F indices into the U render vertices, in Unity's winding.</summary>
        public readonly int[] Triangles;

        /// <summary>2U texture coordinates with Unity's origin (bottom-left; glTF's is top-left).</summary>
        public readonly float[] Uvs;

        public StyleMMMeshLayout(int[] faces, int[] uvFaces, float[] uvs, int positionCount)
        {
            if (faces.Length != uvFaces.Length || faces.Length % 3 != 0 || uvs.Length % 2 != 0)
                throw new ArgumentException("faces and uv_faces must both be (F, 3) and uvs (U, 2)");
            UvToPosition = MapUvToPosition(faces, uvFaces, uvs.Length / 2, positionCount);
            Triangles = ReverseWinding(uvFaces);
            Uvs = FlipV(uvs);
        }

        public static StyleMMMeshLayout FromModel(StyleMMModel model)
        {
            return new StyleMMMeshLayout(model.GetFaces(), model.GetUvFaces(), model.GetUvs(), model.Info.vertices);
        }

        /// <summary>Corner k of triangle f is position faces[f, k] and UV vertex uv_faces[f, k]:
        /// that pairs every UV vertex a triangle uses with its position.</summary>
        static int[] MapUvToPosition(int[] faces, int[] uvFaces, int uvCount, int positionCount)
        {
            var map = new int[uvCount]; // a UV vertex no triangle uses keeps position 0: it is never drawn
            var seen = new bool[uvCount];
            for (int c = 0; c < faces.Length; c++)
            {
                int uv = uvFaces[c], position = faces[c];
                if (uv < 0 || uv >= uvCount || position < 0 || position >= positionCount)
                    throw new ArgumentException(string.Format("triangle corner {0} indexes outside the mesh", c));
                // One UV vertex at two positions would tear the mesh apart; bundles never do this.
                if (seen[uv] && map[uv] != position)
                    throw new ArgumentException(string.Format("UV vertex {0} belongs to positions {1} and {2}", uv, map[uv], position));
                map[uv] = position;
                seen[uv] = true;
            }
            return map;
        }

        /// <summary>(a, b, c) -> (a, c, b). The bundle's triangles turn counter-clockwise seen
        /// from outside (glTF's front); Unity's front faces turn clockwise. The X mirror alone
        /// would leave them counter-clockwise on Unity's screen, i.e. culled as back faces.</summary>
        static int[] ReverseWinding(int[] uvFaces)
        {
            var triangles = new int[uvFaces.Length];
            for (int c = 0; c < uvFaces.Length; c += 3)
            {
                triangles[c] = uvFaces[c];
                triangles[c + 1] = uvFaces[c + 2];
                triangles[c + 2] = uvFaces[c + 1];
            }
            return triangles;
        }

        static float[] FlipV(float[] uvs)
        {
            var flipped = new float[uvs.Length];
            for (int i = 0; i < uvs.Length; i += 2)
            {
                flipped[i] = uvs[i];
                flipped[i + 1] = 1f - uvs[i + 1];
            }
            return flipped;
        }
    }
}
