#!/usr/bin/env python3
"""Packs one static binary as a single-layer OCI image archive that `ctr images import` reads.

    pack.py BINARY REF OUT.tar

The lab's pod-sandbox image is built here because no registry can be reached. Every timestamp
and owner is fixed, so the same binary always gives the same digest."""
import gzip
import hashlib
import io
import json
import sys
import tarfile


def entry(name, data=None, mode=0o644):
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.mode = 0, 0, 0, mode
    if data is None:
        info.type = tarfile.DIRTYPE
        return info, None
    info.size = len(data)
    return info, io.BytesIO(data)


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in entries:
            t.addfile(*entry(name, data, mode))
    return buf.getvalue()


def blob(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, ref, out = sys.argv[1:]
    with open(binary, "rb") as f:
        layer = tar([("pause", f.read(), 0o755)])
    layer_gz = gzip.compress(layer, compresslevel=9, mtime=0)
    config = blob({
        "architecture": "amd64", "os": "linux", "created": "1970-01-01T00:00:00Z",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
    })
    manifest = blob({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(layer_gz), "size": len(layer_gz)}],
    })
    index = blob({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": digest(manifest), "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": ref,
                                       "io.containerd.image.name": ref}}],
    })
    blobs = {digest(b)[7:]: b for b in (config, manifest, layer_gz)}
    entries = [("blobs", None, 0o755), ("blobs/sha256", None, 0o755)]
    entries += [(f"blobs/sha256/{h}", b, 0o644) for h, b in sorted(blobs.items())]
    entries += [("index.json", index, 0o644),
                ("oci-layout", blob({"imageLayoutVersion": "1.0.0"}), 0o644)]
    with open(out, "wb") as f:
        f.write(tar(entries))
    print(digest(manifest))


if __name__ == "__main__":
    main()
