#!/usr/bin/env python3
"""Load a ModelZoo int8 download (run-<id>.int8-<n>.safetensors) as an F32 state_dict.

The file is ordinary safetensors: each quantised weight <key> is I8 and has F32 scales <key>.scale, one per output
channel (axis 0); every other tensor is F32 (or I64) under its own key. The header's __metadata__ says so
(modelzoo.quantization = int8-symmetric-per-channel). Dequantised: weight = float32(<key>) * scale reshaped to
[out, 1, ...]. Needs numpy only; torch is used when present.

    from load_int8_safetensors import load_state_dict
    model.load_state_dict(load_state_dict("run-....int8-1234abcd.safetensors"))   # torch tensors

    python3 load_int8_safetensors.py IN.int8.safetensors [OUT.safetensors]   # summary; OUT: write the F32 file
"""
import json
import struct
import sys

import numpy as np

SCHEME = "int8-symmetric-per-channel"
DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """(tensors as numpy arrays in header order, metadata dict)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).copy()
    return tensors, metadata


def dequantize(path):
    """The F32 state_dict as numpy arrays (scales dropped), and the file's metadata."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("modelzoo.quantization") != SCHEME:
        raise ValueError(f"{path}: modelzoo.quantization is {metadata.get('modelzoo.quantization')!r}, not {SCHEME!r}")
    suffix = metadata.get("modelzoo.quantization.scale_suffix", ".scale")
    out = {}
    for name, t in tensors.items():
        if name.endswith(suffix) and tensors.get(name[: -len(suffix)], np.zeros(0)).dtype == np.int8:
            continue
        if t.dtype == np.int8:
            scale = tensors[name + suffix].astype(np.float32)
            if scale.shape != (t.shape[0],):
                raise ValueError(f"{name}{suffix} has shape {scale.shape}, not ({t.shape[0]},)")
            out[name] = t.astype(np.float32) * scale.reshape((-1,) + (1,) * (t.ndim - 1))
        else:
            out[name] = t
    return out, metadata


def load_state_dict(path):
    """The F32 state_dict as torch tensors, ready for model.load_state_dict."""
    import torch
    arrays, _ = dequantize(path)
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def write_safetensors(path, tensors, metadata):
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        b = np.ascontiguousarray(t).tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    arrays, meta = dequantize(sys.argv[1])
    quantised = json.loads(meta.get("modelzoo.quantization.keys", "[]"))
    print(f"{len(arrays)} tensors, {len(quantised)} dequantised from int8; architecture {meta.get('modelzoo.architecture')}, "
          f"classes {meta.get('modelzoo.classes')}")
    if len(sys.argv) == 3:
        kept = {k: v for k, v in meta.items() if not k.startswith("modelzoo.quantization")}
        write_safetensors(sys.argv[2], arrays, kept)
        print(f"wrote {sys.argv[2]} (F32)")
