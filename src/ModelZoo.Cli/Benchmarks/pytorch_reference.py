"""PyTorch side of `modelzoo bench models`: the same model, batch, input size, threads and step as
ModelZoo.Torch.Benchmarks.ModelBenchmark. Prints one JSON object: {"ms": [...], "torch": version}.
Run by the CLI with Debian's python3-torch (1.13) on a CPU, or PyTorch 2.11 on a GPU machine.

transformers cannot be installed here (no PyPI), so the BERT architectures are written out below with plain torch
modules, layer for layer as transformers' eager BertModel (bert-base-uncased config): the same parameters and the
same arithmetic as ModelZoo.Torch.Models.Bert. Attention uses F.scaled_dot_product_attention where the installed
torch has it (2.x, as transformers and this project do), and the explicit softmax(QK^T/sqrt(d))V otherwise (1.13).
For BERT, --size is the sequence length."""
import argparse, json, math, os, time
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

BERT_BASE = dict(vocab=30522, hidden=768, layers=12, heads=12, intermediate=3072, positions=512, types=2, eps=1e-12, dropout=0.1)


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden"]
        self.heads = c["heads"]
        self.q, self.k, self.v = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.ln1 = nn.Linear(h, h), nn.LayerNorm(h, eps=c["eps"])
        self.inter, self.out, self.ln2 = nn.Linear(h, c["intermediate"]), nn.Linear(c["intermediate"], h), nn.LayerNorm(h, eps=c["eps"])
        self.p = c["dropout"]

    def forward(self, x):
        b, l, h = x.shape
        d = h // self.heads
        q, k, v = (t(x).view(b, l, self.heads, d).transpose(1, 2) for t in (self.q, self.k, self.v))
        if hasattr(F, "scaled_dot_product_attention"):
            ctx = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0.0)
        else:
            w = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1), self.p, self.training)
            ctx = w @ v
        ctx = ctx.transpose(1, 2).reshape(b, l, h)
        x = self.ln1(F.dropout(self.attn_out(ctx), self.p, self.training) + x)
        return self.ln2(F.dropout(self.out(F.gelu(self.inter(x))), self.p, self.training) + x)


class Bert(nn.Module):
    """head: 'cls' (BertForSequenceClassification), 'mlm' (BertForMaskedLM, tied decoder) or None (BertModel)."""
    def __init__(self, head, num_labels=1000, c=BERT_BASE):
        super().__init__()
        h = c["hidden"]
        self.words, self.positions, self.types = nn.Embedding(c["vocab"], h, padding_idx=0), nn.Embedding(c["positions"], h), nn.Embedding(c["types"], h)
        self.ln, self.p = nn.LayerNorm(h, eps=c["eps"]), c["dropout"]
        self.layers = nn.ModuleList(BertLayer(c) for _ in range(c["layers"]))
        self.head = head
        if head != "mlm":
            self.pooler = nn.Linear(h, h)
        if head == "cls":
            self.classifier = nn.Linear(h, num_labels)
        if head == "mlm":
            self.transform, self.tln = nn.Linear(h, h), nn.LayerNorm(h, eps=c["eps"])
            self.decoder_bias = nn.Parameter(torch.zeros(c["vocab"]))

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        x = F.dropout(self.ln(self.words(ids) + self.types(torch.zeros_like(ids)) + self.positions(pos)), self.p, self.training)
        for layer in self.layers:
            x = layer(x)
        if self.head == "mlm":
            return F.linear(self.tln(F.gelu(self.transform(x))), self.words.weight, self.decoder_bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        if self.head == "cls":
            return self.classifier(F.dropout(pooled, self.p, self.training))
        return x, pooled


p = argparse.ArgumentParser()
p.add_argument("--arch", required=True)
p.add_argument("--mode", choices=["inference", "train"], required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--repeats", type=int, default=10)
p.add_argument("--by-module", action="store_true", help="also time each leaf module type (inference only)")
p.add_argument("--channels-last", action="store_true", help="model and input in channels-last memory order (CNNs only)")
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
if a.arch.startswith("bert"):
    model = Bert({"bert": "cls", "bert_mlm": "mlm", "bert_encoder": None}[a.arch])
    x = torch.randint(0, BERT_BASE["vocab"], (a.batch, a.size))
else:
    model = getattr(torchvision.models, a.arch)()
    x = torch.randn(a.batch, 3, a.size, a.size)
if a.channels_last:
    if a.arch.startswith("bert"):
        raise SystemExit("--channels-last applies to image models only")
    model = model.to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 1000, (a.batch,))
sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if a.mode == "train" else None
model.train() if a.mode == "train" else model.eval()

# --by-module: forward pre/post hooks on every leaf module add its time to its type, as ModelBenchmark.ProfileInference
# does with TorchSharp's hooks.
by_module, starts, timing = {}, {}, [False]
if a.by_module:
    if a.mode != "inference":
        raise SystemExit("--by-module profiles inference only")

    def pre(m, inputs):
        starts[id(m)] = time.perf_counter()

    def post(m, inputs, output):
        if timing[0]:
            name = type(m).__name__
            by_module[name] = by_module.get(name, 0.0) + (time.perf_counter() - starts[id(m)]) * 1000 / a.repeats

    for mod in model.modules():
        if next(mod.children(), None) is None:
            mod.register_forward_pre_hook(pre)
            mod.register_forward_hook(post)

times = []
for i in range(-a.warmup, a.repeats):
    timing[0] = i >= 0
    t = time.perf_counter()
    if a.mode == "inference":
        with torch.no_grad():
            model(x)
    else:
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        sgd.step()
    if i >= 0:
        times.append((time.perf_counter() - t) * 1000)


def blas_library():
    """The BLAS this process really loaded. Debian's torch is built against the generic libblas.so.3, whose
    provider is a system alternative: netlib's reference BLAS by default, OpenBLAS once libopenblas0-pthread is
    installed. GEMMs (Linear, 1x1 convolutions) differ by 10x between the two, so the result must say which."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "built in"
    except OSError:
        return "unknown"


result = {"ms": times, "torch": torch.__version__, "blas": blas_library()}
if a.by_module:
    total = sum(times) / len(times)
    by_module["other"] = total - sum(by_module.values())
    by_module["total"] = total
    result["by_module"] = by_module
print(json.dumps(result))
