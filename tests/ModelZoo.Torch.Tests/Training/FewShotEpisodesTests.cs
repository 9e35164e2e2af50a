using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The episode evaluator: its interval arithmetic, its sampling, both heads on synthetic features whose
/// answer is known, and a real backbone end to end.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public class FewShotEpisodesTests
{
    /// <summary>Features of <paramref name="classes"/> Gaussian clusters in <paramref name="dim"/> dimensions: class
    /// centres at <paramref name="separation"/> along random directions, unit noise. Labels are i % classes.</summary>
    static (FeatureTable Table, int[] Labels) Clusters(int classes, int perClass, int dim, double separation, int seed)
    {
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var centres = Enumerable.Range(0, classes).Select(_ =>
        {
            var v = Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray();
            var norm = Math.Sqrt(v.Sum(x => x * x));
            return v.Select(x => x / norm * separation).ToArray();
        }).ToArray();
        int n = classes * perClass;
        var labels = Enumerable.Range(0, n).Select(i => i % classes).ToArray();
        var data = new float[n * dim];
        for (int i = 0; i < n; i++)
            for (int d = 0; d < dim; d++) data[i * dim + d] = (float)(centres[labels[i]][d] + Gauss());
        var rows = Enumerable.Range(0, n).ToDictionary(i => i, i => i);
        return (new FeatureTable(tensor(data, [n, dim]), rows), labels);
    }

    [Fact]
    public void Interval_IsTheMean_AndOnePointNineSixStandardDeviationsOverRootN_OnKnownNumbers()
    {
        // Mean 0.7; deviations ±0.2, 0, 0 give a variance over n of 0.08 / 4 = 0.02.
        var i = FewShotEpisodes.Interval([0.5, 0.7, 0.9, 0.7]);
        i.Mean.ShouldBe(0.7, 1e-12);
        i.StandardDeviation.ShouldBe(Math.Sqrt(0.02), 1e-12);
        i.HalfWidth.ShouldBe(1.96 * Math.Sqrt(0.02) / 2, 1e-12);
        i.Low.ShouldBe(0.7 - 0.13859292911256333, 1e-12);
        i.Count.ShouldBe(4);
        FewShotEpisodes.Interval([0.6, 0.6, 0.6]).HalfWidth.ShouldBe(0);
    }

    [Fact]
    public void Sample_DrawsNDistinctClasses_WithKSupportAndQDisjointQueriesEach_AndRepeatsForTheSameSeed()
    {
        var labels = Enumerable.Range(0, 600).Select(i => i % 12).ToArray();
        var pool = Enumerable.Range(0, 600).Where(i => i % 5 != 0).ToArray();
        int[] classPool = [0, 1, 2, 3, 4, 5, 6, 7];
        var spec = new EpisodeSpec(Ways: 5, Shots: 3, Queries: 4, Episodes: 20, Seed: 3);
        var episodes = FewShotEpisodes.Sample(pool, labels, classPool, spec);

        episodes.Count.ShouldBe(20);
        foreach (var e in episodes)
        {
            e.Classes.Length.ShouldBe(5);
            e.Classes.Distinct().Count().ShouldBe(5);
            e.Classes.ShouldAllBe(c => classPool.Contains(c));
            for (int j = 0; j < 5; j++)
            {
                e.Support[j].Length.ShouldBe(3);
                e.Query[j].Length.ShouldBe(4);
                e.Support[j].Concat(e.Query[j]).Distinct().Count().ShouldBe(7, "support and queries are distinct examples");
                e.Support[j].Concat(e.Query[j]).ShouldAllBe(i => labels[i] == e.Classes[j] && pool.Contains(i));
            }
        }
        episodes.Select(e => e.Classes.Order().First()).Distinct().Count().ShouldBeGreaterThan(1, "episodes differ");

        var again = FewShotEpisodes.Sample(pool, labels, classPool, spec with { Episodes = 5 });
        for (int e = 0; e < 5; e++)
        {
            again[e].Classes.ShouldBe(episodes[e].Classes, "episode e depends on (seed, e) alone");
            again[e].Support.SelectMany(x => x).ShouldBe(episodes[e].Support.SelectMany(x => x));
            again[e].Query.SelectMany(x => x).ShouldBe(episodes[e].Query.SelectMany(x => x));
        }
        FewShotEpisodes.Sample(pool, labels, classPool, spec with { Seed = 4 })[0].Support.SelectMany(x => x)
            .ShouldNotBe(episodes[0].Support.SelectMany(x => x));
    }

    [Fact]
    public void Sample_RefusesAClassWithFewerExamplesThanKPlusQ_AndAPoolWithFewerClassesThanN()
    {
        var labels = Enumerable.Range(0, 100).Select(i => i < 6 ? 9 : i % 4).ToArray();
        var pool = Enumerable.Range(0, 100).ToArray();
        Should.Throw<ArgumentException>(() => FewShotEpisodes.Sample(pool, labels, [0, 1, 9], new EpisodeSpec(2, 5, 5, 1, 1)))
            .Message.ShouldContain("class 9 (6) has fewer");
        Should.Throw<ArgumentException>(() => FewShotEpisodes.Sample(pool, labels, [0, 1], new EpisodeSpec(3, 1, 1, 1, 1)))
            .Message.ShouldContain("needs 3 classes; the class pool has 2");
    }

    [Fact]
    public void Score_OnSeparatedClusters_IsNearlyPerfectForBothHeads_AndOnPureNoise_IsNearChance()
    {
        // 12 episodes of 75 queries: at chance (0.2) the mean's standard error is about 0.013, far inside the bounds below.
        var spec = new EpisodeSpec(Ways: 5, Shots: 5, Queries: 15, Episodes: 12, Seed: 9);
        var (separated, labels) = Clusters(classes: 10, perClass: 40, dim: 64, separation: 8, seed: 1);
        using (separated)
        {
            var report = FewShotEpisodes.Score(separated, FewShotEpisodes.Sample(labels.Select((_, i) => i), labels, Enumerable.Range(0, 10), spec), spec);
            report.PrototypeAccuracies.Count.ShouldBe(12);
            report.Prototype.Mean.ShouldBeGreaterThan(0.95);
            report.Linear.Mean.ShouldBeGreaterThan(0.95);
            report.Prototype.Mean.ShouldBe(report.PrototypeAccuracies.Average(), 1e-12);
        }

        // No class signal at all: both heads must fall to chance (0.2 for 5 ways), which shows they are not handed the answer.
        var (noise, noiseLabels) = Clusters(classes: 10, perClass: 40, dim: 64, separation: 0, seed: 2);
        using (noise)
        {
            var report = FewShotEpisodes.Score(noise, FewShotEpisodes.Sample(noiseLabels.Select((_, i) => i), noiseLabels, Enumerable.Range(0, 10), spec), spec);
            report.Prototype.Mean.ShouldBeInRange(0.12, 0.28);
            report.Linear.Mean.ShouldBeInRange(0.12, 0.28);
            report.Prototype.HalfWidth.ShouldBeGreaterThan(0);
        }
    }

    [Fact]
    public void LinearProbe_TakesTheStepsOfLibtorchsAdam_OnTheSameObjective()
    {
        // Ten examples of three classes (4, 3, 3): unbalanced, so the biases get a real gradient rather than rounding noise.
        const int n = 10, dim = 6, classes = 3, steps = 30;
        const double lr = 0.05;
        var rng = new Random(4);
        var x = Enumerable.Range(0, n * dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, n).Select(i => i % classes).ToArray();
        var head = LinearProbe.Fit(x, y, dim, classes, steps, lr);

        // The reference: autograd on mean cross-entropy + ‖W‖²/(2n), libtorch's Adam, the same start and rate.
        using var xt = tensor(x, [n, dim]);
        using var yt = tensor(y.Select(v => (long)v).ToArray());
        using var w = new TorchSharp.Modules.Parameter(zeros(classes, dim));
        using var b = new TorchSharp.Modules.Parameter(zeros(classes));
        using (var adam = optim.Adam([w, b], lr))
            for (int s = 0; s < steps; s++)
            {
                using var scope = NewDisposeScope();
                adam.zero_grad();
                var loss = nn.functional.cross_entropy(xt.matmul(w.t()) + b, yt) + w.pow(2).sum() / (2.0 * n);
                loss.backward();
                adam.step();
            }
        head.Weights.ShouldBe(w.detach().data<float>().ToArray(), tolerance: 1e-4);
        head.Bias.ShouldBe(b.detach().data<float>().ToArray(), tolerance: 1e-4);
        head.Weights.Max(Math.Abs).ShouldBeGreaterThan(0.1f, "30 steps at 0.05 moved the weights well away from zero");
    }

    [Fact]
    public void LinearHead_IsTheSameEveryTime_ForTheSameSupport()
    {
        var (table, labels) = Clusters(classes: 3, perClass: 10, dim: 16, separation: 1.5, seed: 5);
        using (table)
        {
            var spec = new EpisodeSpec(Ways: 3, Shots: 2, Queries: 8, Episodes: 2, Seed: 1);
            var episodes = FewShotEpisodes.Sample(labels.Select((_, i) => i), labels, [0, 1, 2], spec);
            FewShotEpisodes.Score(table, episodes, spec).LinearAccuracies
                .ShouldBe(FewShotEpisodes.Score(table, episodes, spec).LinearAccuracies);
        }
    }

    [Fact]
    public void Run_EmbedsEveryExampleOnce_WithTheFrozenBackbone_AndLeavesItsWeightsAsTheyWere()
    {
        var data = TrainerTests.DarkAndBright(perClass: 20);
        using var model = TorchRuntime.BuildSeeded(3, () => ArchitectureRegistry.Default.Create("resnet18"));
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var pipeline = ImagePipeline.Create(data.Images!, data.Info, new Preprocessing { InputSize = 16 }, 16, CPU, new PipelineOptions());
        var spec = new EpisodeSpec(Ways: 2, Shots: 5, Queries: 10, Episodes: 4, Seed: 2);
        var all = Enumerable.Range(0, data.Images!.Count).ToArray();

        var report = FewShotEpisodes.Run(model, pipeline, all, data.Images.Labels, [0, 1], spec, CPU);

        report.Prototype.Mean.ShouldBeGreaterThan(0.9);
        report.Linear.Mean.ShouldBeGreaterThan(0.9);
        report.EmbeddedExamples.ShouldBe(report.Episodes.SelectMany(e => e.Support.Concat(e.Query).SelectMany(x => x)).Distinct().Count());
        report.EmbedSeconds.ShouldBeGreaterThan(0);
        model.training.ShouldBeFalse();
        try
        {
            foreach (var (key, t) in model.state_dict()) TestRuns.Same(t, before[key]).ShouldBeTrue(key);
        }
        finally { foreach (var t in before.Values) t.Dispose(); }
    }
}
