using System.Diagnostics;
using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

public enum BenchMode { Inference, Train }

/// <summary>One measurement: an architecture at a batch size, input size and thread count. For a text architecture
/// (BERT) <see cref="Size"/> is the sequence length and the input is random token ids.</summary>
/// <param name="Size">Image side in pixels, or sequence length in tokens for a text model.</param>
/// <param name="Options">The catalogue entry's shape (head, a BERT's config.json); null: the reference architecture.</param>
public sealed record BenchSpec(string Architecture, BenchMode Mode, int Batch, int Size, int Threads, int Warmup = 3, int Repeats = 10,
    ArchitectureOptions? Options = null);

/// <summary>
/// Times what a run does per step, exactly as the PyTorch reference script (Benchmarks/pytorch_reference.py in the
/// CLI) does it: inference is eval mode under no_grad; a training step is forward, cross-entropy, backward and an
/// SGD step (momentum 0.9) in train mode. Weights are random; speed does not depend on their values.
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Milliseconds per iteration, after warm-up.</summary>
    /// <param name="onIteration">Called after each timed or warm-up iteration with (done, total), for progress bars.</param>
    /// <param name="ct">Checked between iterations, so a host shutting down does not wait for a whole measurement.</param>
    public static double[] Measure(BenchSpec s, ArchitectureRegistry? registry = null, Action<int, int>? onIteration = null,
        CancellationToken ct = default) => WithThreads(s.Threads, () =>
        {
            var (model, x, y) = Build(s, registry);
            using var _m = model;
            using var _x = x;
            using var _y = y;
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
                onIteration?.Invoke(i + s.Warmup + 1, s.Warmup + s.Repeats);
                ct.ThrowIfCancellationRequested();
            }
            return times;
        });

    /// <summary>
    /// Where an inference forward spends its time: milliseconds per iteration summed by module type (Conv2d,
    /// BatchNorm2d, MaxPool2d...) over the leaf modules, timed by forward pre/post hooks, plus "total" and "other"
    /// (what runs outside leaf modules: additions, layout conversion, glue). The reference script's --by-module
    /// does the same with PyTorch's hooks, so the two break down the same way.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ProfileInference(BenchSpec s, ArchitectureRegistry? registry = null) =>
        WithThreads(s.Threads, () =>
        {
            var (model, x, y) = Build(s, registry);
            y.Dispose();
            using var _m = model;
            using var _x = x;
            model.eval();
            var byType = new Dictionary<string, double>();
            bool timing = false;
            foreach (var (_, m) in model.named_modules())
            {
                if (m.children().Any() || m is not nn.Module<Tensor, Tensor> leaf) continue;
                var type = m.GetType().Name;
                var started = 0L;
                // The model is this method's own and disposed at the end, so its hooks need no removing.
                leaf.register_forward_pre_hook((_, input) => { started = Stopwatch.GetTimestamp(); return input; });
                leaf.register_forward_hook((_, _, output) =>
                {
                    if (timing) byType[type] = byType.GetValueOrDefault(type) + Stopwatch.GetElapsedTime(started).TotalMilliseconds / s.Repeats;
                    return output;
                });
            }
            double total = 0;
            for (int i = -s.Warmup; i < s.Repeats; i++)
            {
                timing = i >= 0;
                var sw = Stopwatch.StartNew();
                using (var scope = NewDisposeScope())
                using (no_grad())
                    model.call(x);
                if (timing) total += sw.Elapsed.TotalMilliseconds / s.Repeats;
            }
            byType["other"] = total - byType.Values.Sum();
            byType["total"] = total;
            return (IReadOnlyDictionary<string, double>)byType;
        });

    /// <summary>The model, its input and training labels, built under the construction lock: the portal measures
    /// beside the run worker and the catalogue, so a seeded run must not see these draws from the global generator,
    /// and a parameter count on the meta device must not turn this model into meta tensors.</summary>
    static (ZooModel Model, Tensor Input, Tensor Labels) Build(BenchSpec s, ArchitectureRegistry? registry) =>
        Native.TorchRuntime.BuildSeeded(0, () =>
        {
            var m = (registry ?? ArchitectureRegistry.Default).Create(s.Architecture, s.Options);
            // Encoders without a classifier (bert_encoder, bert_mlm) only run inference; their labels are never read.
            return (m, Input(m, s), randint(0, Math.Max(1, m.NumClasses), [s.Batch], device: CPU));
        });

    /// <summary>libtorch's thread count is process-wide: set for the measurement, then put back.</summary>
    internal static T WithThreads<T>(int threads, Func<T> body)
    {
        var previous = torch.get_num_threads();
        torch.set_num_threads(threads);
        try { return body(); }
        finally { torch.set_num_threads(previous); }
    }

    /// <summary>Images [B,3,S,S], or token ids [B,S] drawn from the vocabulary for a text model. A training step needs
    /// one logit row per example, so only the sequence classifier (<c>bert</c>) trains here.</summary>
    static Tensor Input(ZooModel m, BenchSpec s)
    {
        if (m is not Bert bert) return randn(s.Batch, 3, s.Size, s.Size, device: CPU);
        if (s.Mode == BenchMode.Train && bert is not BertForSequenceClassification)
            throw new ArgumentException($"'{s.Architecture}' has no per-example logits to train against; benchmark training with 'bert'.");
        if (s.Size > bert.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"Sequence length {s.Size} exceeds the model's {bert.Config.MaxPositionEmbeddings} positions.");
        return randint(0, bert.Config.VocabSize, [s.Batch, s.Size], dtype: ScalarType.Int64, device: CPU);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
