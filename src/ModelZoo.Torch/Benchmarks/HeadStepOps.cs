using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>One tensor call of a linear head's training step and its median cost.</summary>
public sealed record HeadOpTiming(string Call, double[] Microseconds)
{
    public double Median => ModelBenchmark.Median(Microseconds);
}

/// <summary>
/// Where a cached-feature head step's time goes, call by call: the tensor calls one step of a linear head makes
/// (batch gather, forward, loss, the loss read, backward, AdamW), each repeated alone on tensors of the step's shapes,
/// plus the whole step as the loop makes it. A head step does almost no arithmetic (a 64x512 by 512x10 product), so
/// its time is the cost per call: TorchSharp's managed wrapper and P/Invoke, libtorch's dispatcher, and the BLAS call
/// for a tiny matrix. This is what a faster head step would have to remove (docs/benchmarks.md, issue 11).
/// </summary>
public static class HeadStepOps
{
    public static IReadOnlyList<HeadOpTiming> Measure(int batch, int width, int classes, int repeats, int rounds, int examples = 60_000)
    {
        using var outer = NewDisposeScope();
        var table = randn(examples, width, device: CPU);
        var labels = randint(0, classes, examples, dtype: ScalarType.Int64, device: CPU);
        var idx = randint(0, examples, batch, dtype: ScalarType.Int64, device: CPU);
        var x = table.index_select(0, idx);
        var y = labels.index_select(0, idx);
        var head = nn.Linear(width, classes);
        var optimizer = optim.AdamW([
            new AdamW.ParamGroup([head.weight!], new AdamW.Options { LearningRate = 1e-3, weight_decay = 0.01 }),
            new AdamW.ParamGroup([head.bias!], new AdamW.Options { LearningRate = 1e-3, weight_decay = 0 }),
        ], 1e-3);
        var g = randn(batch, classes, device: CPU);
        var v = rand(classes, width, device: CPU);
        var w = head.weight!.detach();

        Tensor Loss() => nn.functional.cross_entropy(head.call(x), y);
        var calls = new (string Name, Action Call)[]
        {
            ("batch: index_select of features and labels", () => { table.index_select(0, idx); labels.index_select(0, idx); }),
            ("forward: addmm (Linear)", () => head.call(x)),
            ("forward + cross-entropy", () => Loss()),
            ("loss.item() (the loop reads every loss)", () => Loss().item<float>()),
            ("forward + loss + zero_grad + backward", () => { var l = Loss(); optimizer.zero_grad(); l.backward(); }),
            ("AdamW step (2 parameter groups)", () => optimizer.step()),
            ("one elementwise in-place call (mul_ by a scalar)", () => v.mul_(1.0)),
            ($"one small product: gradient of W ({classes}x{batch} by {batch}x{width})", () => g.t().mm(x)),
            ($"one small product: logits ({batch}x{width} by {width}x{classes})", () => x.mm(w.t())),
            ("whole step: forward, loss, item, zero_grad, backward, AdamW",
                () => { var l = Loss(); l.item<float>(); optimizer.zero_grad(); l.backward(); optimizer.step(); }),
        };
        var times = calls.Select(_ => new double[rounds]).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int c = 0; c < calls.Length; c++)
            {
                for (int i = 0; i < repeats / 10; i++) { using var s = NewDisposeScope(); calls[c].Call(); }
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < repeats; i++) { using var s = NewDisposeScope(); calls[c].Call(); }
                times[c][r] = sw.Elapsed.TotalMilliseconds * 1000 / repeats;
            }
        optimizer.Dispose();
        head.Dispose();
        return calls.Select((c, i) => new HeadOpTiming(c.Name, times[i])).ToList();
    }
}
