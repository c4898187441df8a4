"""The sandbox image's build, in three steps with one module each (Python standard library only).

- `assembly`: the pinned Debian packages become one pruned tree with the runner and the game,
  compiled to bytecode and import-checked by the image's own interpreter;
- `audit`: that tree is checked for what must never be in it;
- `oci`: the tree is packed into one reproducible layer and an OCI archive, and an archive's
  contents are compared with the committed manifest.

`layout` holds the paths and names the three share. `image/mkimage.py` is the command line.
"""
