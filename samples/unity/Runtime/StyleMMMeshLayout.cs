// The bundle's mesh laid out for Unity's renderer. Plain C# (no UnityEngine types), so the
// test suite compiles and checks it with mono alongside StyleMMNative.cs.
//
// A bundle has N position vertices and U >= N UV vertices: seams need one vertex per side,
// with the same position and different UVs. faces (F, 3) index positions, uv_faces (F, 3)
// index UVs, corner for corner. A Unity mesh has one index buffer, so it is built on R render
// vertices, one per distinct (position, UV vertex) pair: the native core's split
// (smm_split_uv_seams, the one the Unreal sample and stylemm-export's glTF use too). Each
// frame the N evaluated positions are copied to them through PositionOfVertex.
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
        /// <summary>R entries: the position vertex each render vertex takes its position from.</summary>
        public readonly int[] PositionOfVertex;

        /// <summary>R entries: the UV vertex of each render vertex.</summary>
        public readonly int[] UvOfVertex;

        /// <summary>3F indices into the R render vertices, in Unity's winding.</summary>
        public readonly int[] Triangles;

        /// <summary>2R texture coordinates with Unity's origin (bottom-left; glTF's is top-left).</summary>
        public readonly float[] Uvs;

        public StyleMMMeshLayout(int[] faces, int[] uvFaces, float[] uvs, int positionCount)
        {
            if (faces.Length != uvFaces.Length || faces.Length % 3 != 0 || uvs.Length % 2 != 0)
                throw new ArgumentException("faces and uv_faces must both be (F, 3) and uvs (U, 2)");
            int f = faces.Length / 3, u = uvs.Length / 2, r;
            StyleMMException.Check(StyleMMNative.smm_split_uv_seams(out r, null, null, null, faces, uvFaces, f, positionCount, u, 0));
            PositionOfVertex = new int[r];
            UvOfVertex = new int[r];
            var triangles = new int[faces.Length];
            StyleMMException.Check(StyleMMNative.smm_split_uv_seams(out r, PositionOfVertex, UvOfVertex, triangles, faces, uvFaces,
                                                                    f, positionCount, u, r));
            Triangles = ReverseWinding(triangles);
            Uvs = FlippedUvs(uvs, UvOfVertex);
        }

        public static StyleMMMeshLayout FromModel(StyleMMModel model)
        {
            return new StyleMMMeshLayout(model.GetFaces(), model.GetUvFaces(), model.GetUvs(), model.Info.vertices);
        }

        /// <summary>(a, b, c) -> (a, c, b). The bundle's triangles turn counter-clockwise seen
        /// from outside (glTF's front); Unity's front faces turn clockwise. The X mirror alone
        /// would leave them counter-clockwise on Unity's screen, i.e. culled as back faces.</summary>
        static int[] ReverseWinding(int[] bundleTriangles)
        {
            var triangles = new int[bundleTriangles.Length];
            for (int c = 0; c < bundleTriangles.Length; c += 3)
            {
                triangles[c] = bundleTriangles[c];
                triangles[c + 1] = bundleTriangles[c + 2];
                triangles[c + 2] = bundleTriangles[c + 1];
            }
            return triangles;
        }

        /// <summary>The UV of each render vertex, v flipped for Unity's bottom-left origin.</summary>
        static float[] FlippedUvs(float[] uvs, int[] uvOfVertex)
        {
            var flipped = new float[2 * uvOfVertex.Length];
            for (int i = 0; i < uvOfVertex.Length; i++)
            {
                flipped[2 * i] = uvs[2 * uvOfVertex[i]];
                flipped[2 * i + 1] = 1f - uvs[2 * uvOfVertex[i] + 1];
            }
            return flipped;
        }
    }
}
