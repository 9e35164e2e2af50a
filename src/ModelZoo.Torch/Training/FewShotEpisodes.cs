using System.Diagnostics;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>An N-way K-shot evaluation's settings.</summary>
/// <param name="Ways">Classes per episode (N).</param>
/// <param name="Shots">Labelled support examples per class (K).</param>
/// <param name="Queries">Query examples per class that are scored (Q).</param>
/// <param name="Episodes">How many episodes; 600 is the usual count for a confidence interval of about ±1 point.</param>
/// <param name="Seed">Episode <c>e</c> is drawn from (seed, e) alone, so a longer study repeats a shorter one's episodes.</param>
/// <param name="LinearSteps">Full-batch Adam steps of the linear head (<see cref="LinearProbe"/>).</param>
/// <param name="LinearLearningRate">Adam's rate for the linear head.</param>
public sealed record EpisodeSpec(int Ways, int Shots, int Queries, int Episodes, int Seed, int LinearSteps = 100, double LinearLearningRate = 0.01)
{
    public void Validate()
    {
        if (Ways < 2) throw new ArgumentOutOfRangeException(nameof(Ways), Ways, "An episode needs at least 2 classes.");
        if (Shots < 1) throw new ArgumentOutOfRangeException(nameof(Shots), Shots, "An episode needs at least 1 support example per class.");
        if (Queries < 1) throw new ArgumentOutOfRangeException(nameof(Queries), Queries, "An episode needs at least 1 query per class.");
        if (Episodes < 1) throw new ArgumentOutOfRangeException(nameof(Episodes), Episodes, "Run at least 1 episode.");
        if (LinearSteps < 1) throw new ArgumentOutOfRangeException(nameof(LinearSteps), LinearSteps, "The linear head needs at least 1 step.");
        if (!(LinearLearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LinearLearningRate), LinearLearningRate, "The linear head's rate must be above 0.");
    }
}

/// <summary>One episode: its classes (episode label j is <c>Classes[j]</c>) and, per class, the dataset indices of
/// its support and query examples (disjoint).</summary>
public sealed record Episode(int[] Classes, int[][] Support, int[][] Query);

/// <summary>A mean with its 95 % confidence half-width, 1.96 · std / √n, where std is the accuracies' standard
/// deviation over the n episodes (divided by n, as numpy's default and the usual few-shot evaluation code compute it;
/// the sample deviation would be √(n/(n−1)) larger, 0.08 % at 600 episodes).</summary>
public sealed record MeanInterval(double Mean, double HalfWidth, double StandardDeviation, int Count)
{
    public double Low => Mean - HalfWidth;
    public double High => Mean + HalfWidth;
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Mean * 100:F2} ± {HalfWidth * 100:F2} % (n = {Count})");
}

/// <summary>Per-episode accuracies of both heads on the same queries, their means and intervals, and where the time
/// went: embedding every example once, then each head's scoring summed over the episodes.</summary>
public sealed record EpisodeReport(
    IReadOnlyList<Episode> Episodes,
    IReadOnlyList<double> PrototypeAccuracies,
    IReadOnlyList<double> LinearAccuracies,
    MeanInterval Prototype,
    MeanInterval Linear,
    int EmbeddedExamples,
    double EmbedSeconds,
    double PrototypeSeconds,
    double LinearSeconds);

/// <summary>
/// N-way K-shot episodes on a frozen backbone, for few-shot studies: each episode samples N classes from a class pool,
/// K support and Q query examples of each from the example pool, and scores the same queries two ways: (a) the
/// nearest prototype by cosine (<see cref="Prototypes"/>, as the few-shot strategy classifies) and (b) a linear head
/// (multinomial logistic regression) trained on the same K·N support features. Embeddings are the backbone's
/// pre-logits in eval mode without gradients, computed once for every example any episode uses.
/// </summary>
public static class FewShotEpisodes
{
    const int BatchSize = 256;

    /// <summary>The episodes of a study: deterministic in (<paramref name="pool"/>, labels, class pool, spec).</summary>
    /// <param name="pool">Example indices episodes may draw from (e.g. a test split).</param>
    /// <param name="classPool">Classes episodes may draw from (e.g. the novel classes); each needs K + Q examples in the pool.</param>
    /// <exception cref="ArgumentException">Fewer classes than N, or a class with fewer than K + Q examples: a study
    /// that dropped them silently would not be the study asked for.</exception>
    public static IReadOnlyList<Episode> Sample(IEnumerable<int> pool, IReadOnlyList<int> labels, IEnumerable<int> classPool, EpisodeSpec spec)
    {
        spec.Validate();
        var classes = classPool.Distinct().Order().ToArray();
        if (classes.Length < spec.Ways)
            throw new ArgumentException($"A {spec.Ways}-way episode needs {spec.Ways} classes; the class pool has {classes.Length}.", nameof(classPool));
        var byClass = classes.ToDictionary(c => c, _ => new List<int>());
        foreach (var i in pool.Distinct().Order())
            if (byClass.TryGetValue(labels[i], out var list)) list.Add(i);
        var need = spec.Shots + spec.Queries;
        var small = byClass.Where(kv => kv.Value.Count < need).Select(kv => $"{kv.Key} ({kv.Value.Count})").ToList();
        if (small.Count > 0)
            throw new ArgumentException($"Each class needs {need} examples ({spec.Shots} support + {spec.Queries} queries) in the pool; " +
                                        $"class{(small.Count > 1 ? "es" : "")} {string.Join(", ", small)} {(small.Count > 1 ? "have" : "has")} fewer.", nameof(pool));

        var episodes = new Episode[spec.Episodes];
        for (int e = 0; e < spec.Episodes; e++)
        {
            var rng = new Random(TrainingSelection.Seed(spec.Seed, e, 0xE915));
            var chosen = Draw(rng, classes, spec.Ways);
            var support = new int[spec.Ways][];
            var query = new int[spec.Ways][];
            for (int j = 0; j < spec.Ways; j++)
            {
                var examples = Draw(rng, byClass[chosen[j]], need);
                support[j] = examples[..spec.Shots];
                query[j] = examples[spec.Shots..];
            }
            episodes[e] = new Episode(chosen, support, query);
        }
        return episodes;
    }

    /// <summary>Samples the episodes, embeds every example they use once, and scores them.</summary>
    public static EpisodeReport Run(ZooModel model, IBatchSource source, IEnumerable<int> pool, IReadOnlyList<int> labels, IEnumerable<int> classPool,
        EpisodeSpec spec, Device device, CancellationToken ct = default)
    {
        var episodes = Sample(pool, labels, classPool, spec);
        var needed = episodes.SelectMany(e => e.Support.Concat(e.Query).SelectMany(x => x)).Distinct().ToArray();
        var watch = Stopwatch.StartNew();
        using var table = Embed(model, source, needed, device, ct);
        var embedSeconds = watch.Elapsed.TotalSeconds;
        return Score(table, episodes, spec, ct) with { EmbedSeconds = embedSeconds };
    }

    /// <summary>The backbone's pre-logits (the classifier's input, <see cref="ZooModel.ForwardHead"/> with
    /// <c>preLogits</c>) of <paramref name="indices"/>, in eval mode without gradients, one row per distinct index.</summary>
    public static FeatureTable Embed(ZooModel model, IBatchSource source, int[] indices, Device device, CancellationToken ct = default)
    {
        var distinct = indices.Distinct().Order().ToArray();
        model.eval();
        using var _ = no_grad();
        var parts = new List<Tensor>();
        try
        {
            using var batches = source.Eval(distinct, BatchSize, ct);
            for (int b = 0; b < batches.Count; b++)
            {
                ct.ThrowIfCancellationRequested();
                using var batch = batches.Next();
                using var scope = NewDisposeScope();
                var f = model.ForwardHead(model.ForwardFeatures(batch.X), preLogits: true);
                if (f.dim() != 2)
                    throw new NotSupportedException($"{model.Architecture}'s pre-logits have shape [{string.Join(", ", f.shape)}]; episodes need one pooled vector per example.");
                parts.Add(f.to(ScalarType.Float32).to(device).MoveToOuterDisposeScope());
            }
            var features = parts.Count == 0 ? zeros(0, 0, device: device) : cat(parts, 0);
            return new FeatureTable(features, distinct.Select((idx, row) => (idx, row)).ToDictionary(x => x.idx, x => x.row));
        }
        finally { foreach (var p in parts) p.Dispose(); }
    }

    /// <summary>Scores episodes on features already computed (every index an episode uses must have a row).</summary>
    public static EpisodeReport Score(FeatureTable table, IReadOnlyList<Episode> episodes, EpisodeSpec spec, CancellationToken ct = default)
    {
        spec.Validate();
        var protoWatch = new Stopwatch();
        var linearWatch = new Stopwatch();
        var proto = new double[episodes.Count];
        var linear = new double[episodes.Count];
        using var _ = no_grad();
        for (int e = 0; e < episodes.Count; e++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (sx, sy) = Rows(table, episodes[e].Support);
            var (qx, qy) = Rows(table, episodes[e].Query);
            var ways = episodes[e].Classes.Length;
            protoWatch.Start();
            using (var prototypes = Prototypes.Of(sx, sy, ways))
                proto[e] = Accuracy(Prototypes.Logits(qx, prototypes, 1), qy);
            protoWatch.Stop();
            linearWatch.Start();
            linear[e] = LinearHeadAccuracy(sx, sy, qx, qy, ways, spec.LinearSteps, spec.LinearLearningRate);
            linearWatch.Stop();
        }
        return new EpisodeReport(episodes, proto, linear, Interval(proto), Interval(linear),
            table.Rows.Count, 0, protoWatch.Elapsed.TotalSeconds, linearWatch.Elapsed.TotalSeconds);
    }

    /// <summary>Mean, standard deviation (over n) and the 95 % half-width 1.96 · std / √n.</summary>
    public static MeanInterval Interval(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var n = values.Count;
        var mean = values.Average();
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / n);
        return new MeanInterval(mean, 1.96 * std / Math.Sqrt(n), std, n);
    }

    /// <summary>Accuracy on the queries of the <see cref="LinearProbe"/> trained on the support: unit-length
    /// features (as the prototypes see them), weights from zero, full-batch Adam. A convex loss from a fixed start over
    /// the full batch has no random draw, so the head is reproducible without a seed.</summary>
    public static double LinearHeadAccuracy(Tensor supportX, Tensor supportY, Tensor queryX, Tensor queryY, int ways, int steps, double learningRate)
    {
        using var scope = NewDisposeScope();
        var dim = (int)supportX.shape[1];
        var head = LinearProbe.Fit(Floats(Prototypes.Normalize(supportX)), Labels(supportY), dim, ways, steps, learningRate);
        var predicted = head.Predict(Floats(Prototypes.Normalize(queryX)));
        var truth = Labels(queryY);
        return (double)predicted.Zip(truth).Count(x => x.First == x.Second) / truth.Length;
    }

    static float[] Floats(Tensor t) => t.to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();

    static int[] Labels(Tensor t) => t.cpu().data<long>().ToArray().Select(l => (int)l).ToArray();

    static double Accuracy(Tensor logits, Tensor labels) => logits.argmax(1).eq(labels).to(ScalarType.Float64).mean().item<double>();

    /// <summary>Features of an episode's examples and their episode labels (the class's position, 0..N-1).</summary>
    static (Tensor X, Tensor Y) Rows(FeatureTable table, int[][] perClass)
    {
        var device = table.Features.device;
        var rows = perClass.SelectMany(ids => ids.Select(i => (long)table.Rows[i])).ToArray();
        var y = perClass.SelectMany((ids, j) => ids.Select(_ => (long)j)).ToArray();
        return (table.Features.index_select(0, tensor(rows, device: CPU).to(device)), tensor(y, device: CPU).to(device));
    }

    /// <summary><paramref name="count"/> distinct items in random order (a partial Fisher-Yates shuffle of a copy).</summary>
    internal static int[] Draw(Random rng, IReadOnlyList<int> items, int count)
    {
        var a = items.ToArray();
        for (int i = 0; i < count; i++)
        {
            var j = rng.Next(i, a.Length);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a[..count];
    }
}
