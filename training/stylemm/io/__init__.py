"""Files: atomic writes, meshes (OBJ, glTF), and the restricted unpickler for user pickles."""
