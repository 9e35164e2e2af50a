using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>
/// Few-shot prototypes: no gradient step at all. <see cref="Setup"/> draws k training examples per class, embeds
/// them, the validation and the test examples once with the frozen backbone in eval mode (<see cref="FeatureCache"/>:
/// the classifier's pre-logits, reused by later runs on the same backbone and data) and forms one prototype per class
/// (<see cref="Prototypes"/>). <see cref="ParameterGroups"/> is empty, so the loop runs no epoch, creates no optimiser
/// and records the selection as <see cref="ModelSelection.NoTraining"/>; validation and test go through
/// <see cref="Predict"/>, which scores cached features against the prototypes.
/// </summary>
public sealed class FewShotPrototypesStrategy : TrainingStrategy<FewShotPrototypesOptions>
{
    /// <summary>Above this many support examples, the record lists the first few per class and a hash of the whole list.</summary>
    const int ListedInFull = 300;

    FeatureTable? _table;
    FeatureBatchSource? _features;
    FeatureCacheReport? _report;
    Tensor? _prototypes;
    int _pool;

    /// <summary>The support set: per class (in class order), the dataset indices of its k examples, ascending.</summary>
    public IReadOnlyList<int[]> Support { get; private set; } = [];

    /// <summary>[classes, features]: the unit prototypes, once set up.</summary>
    public Tensor? PrototypeMatrix => _prototypes;

    /// <summary>
    /// k examples of each class from <paramref name="pool"/>, each class drawn with its own stream of
    /// (<paramref name="seed"/>, class), so the draw is the same for the same seed and pool whatever the other classes
    /// hold. Labels outside the classes (unlabelled, -1) are never drawn.
    /// </summary>
    /// <exception cref="InvalidOperationException">A class has fewer than k examples in the pool: the launch check
    /// works from the dataset's facts, while the pool is what remains after the label budget and the training limit.</exception>
    public static int[][] DrawSupport(IEnumerable<int> pool, IReadOnlyList<int> labels, IReadOnlyList<string> classNames, int shots, int seed)
    {
        var byClass = classNames.Select(_ => new List<int>()).ToArray();
        foreach (var i in pool.Order()) if ((uint)labels[i] < (uint)byClass.Length) byClass[labels[i]].Add(i);
        var (count, smallest) = byClass.Select((l, c) => (l.Count, c)).MinBy(x => x.Count);
        if (shots > count)
            throw new InvalidOperationException(
                $"Shots must be at most {count}: class '{classNames[smallest]}' has only {count} training examples in this run " +
                "(after its label budget and training limit).");
        return byClass.Select((examples, c) =>
        {
            var a = examples.ToArray();
            new Random(TrainingSelection.Seed(seed, 0x5407, c)).Shuffle(a);
            var chosen = a[..shots];
            Array.Sort(chosen);
            return chosen;
        }).ToArray();
    }

    /// <summary>The support set: the pool it was drawn from is not what the prototypes saw.</summary>
    public override int[] ExamplesLearntFrom(RunContext run) => Support.SelectMany(s => s).ToArray();

    public override void Setup(RunContext run)
    {
        // Nothing learns: no parameter needs a gradient, and the trainable count stays 0.
        foreach (var p in run.Model.parameters()) p.requires_grad = false;
        run.Model.eval();
        // A plan needs only that nothing learns; the support set and its features are passes over the data.
        if (run.Planning) return;
        var labels = run.Job.Data.Images?.Labels ?? run.Job.Data.Texts!.Labels;
        _pool = run.TrainIndices.Length;
        Support = DrawSupport(run.TrainIndices, labels, run.ClassNames, Options.Shots, run.Training.Seed);
        var support = Support.SelectMany(s => s).ToArray();
        _table = FeatureCache.Fetch(run, run.Data, [.. support, .. run.ValidationIndices, .. run.TestIndices], out var report);
        _report = report;
        _features = new FeatureBatchSource(_table, labels, run.Device);

        using var scope = NewDisposeScope();
        var rows = tensor(support.Select(i => (long)_table.Rows[i]).ToArray(), device: CPU).to(run.Device);
        var y = tensor(support.Select(i => (long)labels[i]).ToArray(), device: CPU).to(run.Device);
        _prototypes = Prototypes.Of(_table.Features.index_select(0, rows), y, run.Classes).MoveToOuterDisposeScope();
    }

    public override IReadOnlyList<ParameterGroupSpec> ParameterGroups(RunContext run) => [];

    public override ModelSelection Selection => ModelSelection.NoTraining;

    public override void BeginEpoch(RunContext run, int epoch) => run.Model.eval();

    public override StepResult Step(RunContext run, StepInput input) =>
        throw new InvalidOperationException("Few-shot prototypes take no training steps: the loop runs no epoch for a strategy without parameter groups.");

    /// <summary>Evaluation batches are cached features (<see cref="Evaluation"/>), so this is only the cosine to the prototypes.</summary>
    public override Tensor Predict(RunContext run, TrainingBatch batch) =>
        Prototypes.Logits(batch.X, _prototypes ?? throw new InvalidOperationException("Setup has not run."), Options.LogitScale);

    public override EvaluationSet Evaluation(RunContext run, DatasetSplit split) =>
        new(_features ?? throw new InvalidOperationException("Setup has not run."), split == DatasetSplit.Validation ? run.ValidationIndices : run.TestIndices);

    public override IEnumerable<StrategyFact> Facts(RunContext run)
    {
        if (Support.Count == 0) yield break;
        yield return new("Support set", DescribeSupport(Support, run.ClassNames, _pool, run.Training.Seed));
        yield return new("Prototypes", string.Create(CultureInfo.InvariantCulture,
            $"mean of each class's L2-normalised embeddings ({_table!.Width} pre-logit features of the frozen backbone in inference mode), " +
            $"re-normalised; logits = {Options.LogitScale:G4} × cosine similarity; no parameter was trained"));
        if (_report is { } r) yield return new("Features", r.Describe());
    }

    /// <summary>"5 per class, seed 42, from the run's 720 training examples; dataset indices: 'a' 3, 17, …; 'b' …".
    /// A long list keeps its first five indices per class and a SHA-256 of the whole list, which the seed reproduces.</summary>
    public static string DescribeSupport(IReadOnlyList<int[]> support, IReadOnlyList<string> classNames, int pool, int seed)
    {
        var shots = support.Count == 0 ? 0 : support[0].Length;
        var total = support.Sum(s => s.Length);
        var full = string.Join("; ", support.Select((s, c) => $"'{classNames[c]}' {string.Join(", ", s)}"));
        var head = $"{shots} per class ({total:N0} in all), drawn with seed {seed} from the run's {pool:N0} training examples; dataset indices: ";
        if (total <= ListedInFull) return head + full;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)));
        return head + string.Join("; ", support.Select((s, c) => $"'{classNames[c]}' {string.Join(", ", s.Take(5))}, …")) +
               $" (the full list's SHA-256: {hash})";
    }

    public override void Dispose()
    {
        _prototypes?.Dispose();
        _table?.Dispose();
        base.Dispose();
    }
}
