using System.Diagnostics;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>
/// Two models' forward latency in one measurement: after a warm-up, the two are timed alternately (A B A B ...) so a
/// busy neighbour or a clock change slows both alike, and each side's median is reported (platform notes: on a shared
/// machine only interleaved medians compare).
/// </summary>
public static class PairedLatency
{
    /// <returns>The median milliseconds of one call of <paramref name="a"/> and of <paramref name="b"/>.</returns>
    public static (double A, double B) Measure(Func<Tensor> a, Func<Tensor> b, int repeats, int warmup = 3)
    {
        using var _ = no_grad();
        for (int i = 0; i < warmup; i++) { a().Dispose(); b().Dispose(); }
        var ta = new List<double>(repeats);
        var tb = new List<double>(repeats);
        for (int i = 0; i < repeats; i++)
        {
            ta.Add(Time(a));
            tb.Add(Time(b));
        }
        return (ModelBenchmark.Median(ta), ModelBenchmark.Median(tb));
    }

    static double Time(Func<Tensor> f)
    {
        var watch = Stopwatch.StartNew();
        using (var scope = NewDisposeScope()) f();
        return watch.Elapsed.TotalMilliseconds;
    }
}
