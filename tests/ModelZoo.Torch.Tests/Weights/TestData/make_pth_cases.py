# Generates the small .pth cases the PthReader tests read. Run by hand, never from tests:
#   cd tests/ModelZoo.Torch.Tests/Weights/TestData && /usr/bin/python3 make_pth_cases.py
# Made with Debian's python3-torch 1.13.1. The expected values are written as safetensors by the tiny writer below
# (no safetensors package needed): floating tensors as F32, integers as I64, bools as BOOL, all contiguous, which is
# the form PthReader.Load returns.
import collections, json, os, struct
import torch

torch.manual_seed(7)


def cases():
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4)
    sd["f16"] = torch.randn(2, 3).half()
    sd["bf16"] = torch.randn(5).bfloat16()
    sd["f64"] = torch.randn(2, 2).double()
    sd["i64"] = torch.arange(6).reshape(2, 3)
    sd["i32"] = torch.arange(4, dtype=torch.int32) - 2
    sd["u8"] = torch.tensor([0, 255, 7], dtype=torch.uint8)
    sd["flags"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2))  # pickled through torch._utils._rebuild_parameter
    # Views of one storage: offsets, non-contiguous strides, a transpose.
    base = torch.arange(24.0).reshape(4, 6)
    sd["shared.base"] = base
    sd["shared.rows"] = base[1:3]
    sd["shared.t"] = base.t()
    sd["shared.col"] = base[:, 2]
    sd["shared.strided"] = base[::2, 1::2]
    # state_dict() attaches _metadata to the OrderedDict; pickle writes it with BUILD.
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("shared", {"version": 2})])
    return sd


def canonical(t):
    t = t.detach().contiguous()
    if t.is_floating_point():
        return t.float()
    if t.dtype == torch.bool:
        return t
    return t.long()


def save_safetensors(path, tensors):
    names = {torch.float32: "F32", torch.int64: "I64", torch.bool: "BOOL"}
    header, blobs, offset = {}, [], 0
    for k, t in tensors.items():
        b = t.numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class RunsCode:
    """What a malicious checkpoint does: unpickling it would call os.system."""

    def __reduce__(self):
        return (os.system, ("echo this-must-never-run",))


sd = cases()
torch.save(sd, "pth_cases.pth")
torch.save(sd, "pth_cases_protocol4.pth", pickle_protocol=4)
save_safetensors("pth_cases.expected.safetensors", collections.OrderedDict((k, canonical(v)) for k, v in sd.items()))
torch.save(collections.OrderedDict([("w", torch.ones(2)), ("evil", RunsCode())]), "malicious.pth")
torch.save(collections.OrderedDict([("w", torch.ones(2))]), "legacy.pth", _use_new_zipfile_serialization=False)
print("written:", sorted(f for f in os.listdir(".") if not f.endswith(".py")))
