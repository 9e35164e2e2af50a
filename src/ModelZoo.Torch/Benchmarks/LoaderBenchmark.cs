using System.Diagnostics;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>
/// Measures the image pipeline against the training step it feeds: images per second the loader delivers (read,
/// augmented, batched, on worker threads), images per second a training step consumes (synthetic batches of the
/// same shape), and, with both running together as in a run, the share of the time the step waits for the loader.
/// </summary>
public static class LoaderBenchmark
{
    /// <summary>Images per second over whole epochs of training batches, taken and dropped by the calling thread.</summary>
    public static double LoaderImagesPerSecond(ImagePipeline pipeline, int[] order, int batch, bool augment, int epochs)
    {
        var sw = Stopwatch.StartNew();
        for (int e = 1; e <= epochs; e++)
        {
            using var batches = pipeline.Train(order, batch, e, seed: 1, augment, CancellationToken.None);
            for (int b = 0; b < batches.Count; b++) batches.Next().Dispose();
        }
        return (double)order.Length * epochs / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Milliseconds per training step on a synthetic batch, after <paramref name="warmup"/> untimed steps.</summary>
    public static double[] StepMilliseconds(string architecture, bool frozenBackbone, int batch, int size, int warmup, int steps, Device device)
    {
        using var model = BuildForTraining(architecture, frozenBackbone, device, out var optimizer);
        using var _ = optimizer;
        using var x = randn(batch, 3, size, size, device: device);
        using var y = randint(0, 10, [batch], device: device);
        var times = new List<double>();
        for (int i = -warmup; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            Step(model, frozenBackbone, optimizer, x, y);
            if (i >= 0) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return times.ToArray();
    }

    /// <summary>Trains <paramref name="steps"/> steps on the pipeline's batches, as the trainer does, and returns the
    /// share of the time spent waiting for a batch (after <paramref name="warmup"/> steps) and the milliseconds per step.</summary>
    public static (double WaitFraction, double StepMs) Overlapped(ImagePipeline pipeline, string architecture, bool frozenBackbone,
        int[] order, int batch, bool augment, int warmup, int steps, Device device)
    {
        using var model = BuildForTraining(architecture, frozenBackbone, device, out var optimizer);
        using var _ = optimizer;
        using var batches = pipeline.Train(order, batch, 1, seed: 1, augment, CancellationToken.None);
        if (batches.Count < warmup + steps) throw new ArgumentException($"{order.Length} images make {batches.Count} batches of {batch}; {warmup + steps} are needed.");
        TimeSpan waitedBefore = TimeSpan.Zero;
        var sw = new Stopwatch();
        for (int i = -warmup; i < steps; i++)
        {
            if (i == 0) { waitedBefore = batches.WaitTime; sw.Start(); }
            using var b = batches.Next();
            Step(model, frozenBackbone, optimizer, b.X, b.Y);
        }
        sw.Stop();
        return ((batches.WaitTime - waitedBefore).TotalSeconds / sw.Elapsed.TotalSeconds, sw.Elapsed.TotalMilliseconds / steps);
    }

    /// <summary>The model as the trainer prepares it: head reset, and either everything trained (full fine-tune, train
    /// mode) or only the head on a frozen backbone in eval mode (feature extraction computing features each step),
    /// with AdamW over what trains.</summary>
    static ZooModel BuildForTraining(string architecture, bool frozenBackbone, Device device, out optim.Optimizer optimizer)
    {
        var model = TorchRuntime.BuildSeeded(0, () =>
        {
            var m = ArchitectureRegistry.Default.Create(architecture);
            m.ResetClassifier(10);
            return m;
        });
        model.to(device);
        foreach (var p in model.BackboneParameters()) p.requires_grad = !frozenBackbone;
        if (frozenBackbone) model.eval(); else model.train();
        optimizer = optim.AdamW(frozenBackbone ? model.ClassifierParameters() : model.parameters(), 1e-3);
        return model;
    }

    static void Step(ZooModel model, bool frozenBackbone, optim.Optimizer optimizer, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        Tensor logits;
        if (frozenBackbone)
        {
            Tensor features;
            using (no_grad()) features = model.ForwardHead(model.ForwardFeatures(x), preLogits: true);
            logits = model.ForwardClassifier(features);
        }
        else logits = model.call(x);
        var loss = nn.functional.cross_entropy(logits, y);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        loss.item<float>(); // waits for the device, so the time is the step's
    }

    /// <summary>Peak and current resident memory of this process from /proc/self/status (Linux), in bytes.</summary>
    public static (long Peak, long Current) ResidentMemory()
    {
        long Field(string[] lines, string name) =>
            lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) is { } l
                ? long.Parse(l[name.Length..].Trim().Split(' ')[0]) * 1024 : -1;
        var status = File.ReadAllLines("/proc/self/status");
        return (Field(status, "VmHWM:"), Field(status, "VmRSS:"));
    }

    /// <summary>Resets the peak (VmHWM) to the current resident size, so a later peak measures only what follows.
    /// Returns false where the kernel does not allow it.</summary>
    public static bool ResetPeakMemory()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }
}
