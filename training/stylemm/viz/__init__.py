"""Pictures and videos for people: OpenGL previews (gl), contact sheets and layouts (sheets)."""
