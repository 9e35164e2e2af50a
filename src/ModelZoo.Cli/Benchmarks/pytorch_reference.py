"""PyTorch side of `modelzoo bench models`: the same model, batch, input size, threads and step as
ModelZoo.Torch.Benchmarks.ModelBenchmark. Prints one JSON object: {"ms": [...], "torch": version}.
Run by the CLI with Debian's python3-torch (1.13) on a CPU, or PyTorch 2.11 on a GPU machine."""
import argparse, json, time
import torch
import torchvision

p = argparse.ArgumentParser()
p.add_argument("--arch", required=True)
p.add_argument("--mode", choices=["inference", "train"], required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--repeats", type=int, default=10)
a = p.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = getattr(torchvision.models, a.arch)()
x = torch.randn(a.batch, 3, a.size, a.size)
y = torch.randint(0, 1000, (a.batch,))
sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if a.mode == "train" else None
model.train() if a.mode == "train" else model.eval()

times = []
for i in range(-a.warmup, a.repeats):
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
print(json.dumps({"ms": times, "torch": torch.__version__}))
