using System.Diagnostics;
using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

public enum BenchMode { Inference, Train }

/// <summary>One measurement: an architecture at a batch size, input size and thread count.</summary>
public sealed record BenchSpec(string Architecture, BenchMode Mode, int Batch, int Size, int Threads, int Warmup = 3, int Repeats = 10);

/// <summary>
/// Times what a run does per step, exactly as the PyTorch reference script (Benchmarks/pytorch_reference.py in the
/// CLI) does it: inference is eval mode under no_grad; a training step is forward, cross-entropy, backward and an
/// SGD step (momentum 0.9) in train mode. Weights are random; speed does not depend on their values.
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Milliseconds per iteration, after warm-up.</summary>
    public static double[] Measure(BenchSpec s, ArchitectureRegistry? registry = null)
    {
        var previous = torch.get_num_threads();
        torch.set_num_threads(s.Threads);
        try
        {
            torch.random.manual_seed(0);
            using var model = (registry ?? ArchitectureRegistry.Default).Create(s.Architecture);
            using var x = randn(s.Batch, 3, s.Size, s.Size, device: CPU);
            using var y = randint(0, model.NumClasses, [s.Batch], device: CPU);
            using var sgd = s.Mode == BenchMode.Train ? torch.optim.SGD(model.parameters(), 0.01, momentum: 0.9) : null;
            if (s.Mode == BenchMode.Train) model.train(); else model.eval();

            var times = new double[s.Repeats];
            for (int i = -s.Warmup; i < s.Repeats; i++)
            {
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                {
                    if (s.Mode == BenchMode.Inference)
                    {
                        using var _ = no_grad();
                        model.call(x);
                    }
                    else
                    {
                        sgd!.zero_grad();
                        nn.functional.cross_entropy(model.call(x), y).backward();
                        sgd.step();
                    }
                }
                if (i >= 0) times[i] = sw.Elapsed.TotalMilliseconds;
            }
            return times;
        }
        finally { torch.set_num_threads(previous); }
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
