using System.Collections.Concurrent;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;

namespace ModelZoo.Infrastructure.Runs.Predict;

/// <summary>One test example in the gallery: its index in the dataset the run was tested on, its true and predicted
/// class, the softmax probability of the predicted class, and the image's URL or the text (cut to a readable length).</summary>
public sealed record MistakeExample(int Index, string True, string Predicted, double Confidence, string? ImageUrl, string? Text);

/// <summary>"Where it goes wrong" for one filter: the examples (most confident wrong ones first; for a diagonal cell
/// the least confident right ones first), and how many matched the filter in all.</summary>
public sealed record MistakesView
{
    public Guid RunId { get; init; }
    /// <summary><c>image</c> or <c>text</c>.</summary>
    public string Modality { get; init; } = "";
    /// <summary>The dataset whose test split the run was tested on (the target for domain adaptation).</summary>
    public string DatasetId { get; init; } = "";
    public IReadOnlyList<string> ClassNames { get; init; } = [];
    public int TestExamples { get; init; }
    public int Wrong { get; init; }
    public string? True { get; init; }
    public string? Predicted { get; init; }
    /// <summary>In words: what the list holds and in which order.</summary>
    public string Order { get; init; } = "";
    /// <summary>Examples matching the filter, of which <see cref="Examples"/> are the first <c>take</c>.</summary>
    public int Matching { get; init; }
    public IReadOnlyList<MistakeExample> Examples { get; init; } = [];
}

/// <summary>The gallery, or why there is none (the failures are "Try it"'s: 404, 409, 400).</summary>
public sealed record MistakesOutcome(MistakesView? View, PredictFailure? Failure, string? Problem)
{
    public static MistakesOutcome Refused(PredictFailure failure, string problem) => new(null, failure, problem);
    internal static MistakesOutcome From(PredictOutcome refusal) => new(null, refusal.Failure, refusal.Problem);
}

/// <summary>
/// "Where it goes wrong": a succeeded run's trained model over exactly the run's test split (the dataset's stored test
/// split; for domain adaptation the aligned target's, as the strategies evaluate), through <see cref="RunPredictor"/>'s
/// model cache and the run's own evaluation batch source, in the batches the test evaluation formed. Each example's
/// (index, true, predicted, confidence) is kept in <c>mistakes.json</c> in the run's folder (temp file, then rename),
/// keyed by the weights' sha256; the run's seed and label budget choose training examples only, so they do not enter.
/// The predictions' (true, predicted) counts must equal the run's recorded test confusion matrix: when they do not,
/// the gallery is refused with that reason instead of shown disagreeing with the matrix beside it.
/// </summary>
public sealed class RunMistakes(RunPredictor predictor, RunOutputs outputs, DatasetStore datasets)
{
    public const string FileName = "mistakes.json";
    public const int DefaultTake = 24, MaxTake = 200, MaxTextChars = 280;
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Computations in flight, so two viewers of one run start one pass; removed when done (the file is the cache).</summary>
    readonly ConcurrentDictionary<Guid, Lazy<Task<(Analysis?, MistakesOutcome?)>>> _inFlight = new();

    /// <summary>What is kept per run: one row per test example, in the order of the test split.</summary>
    internal sealed record Analysis(string WeightsSha256, string DatasetId, string Modality, int[] Index, int[] True, int[] Predicted, float[] Confidence);

    /// <param name="trueClass">Only examples of this true class (a class name of the run's result).</param>
    /// <param name="predictedClass">Only examples predicted as this class. Equal to <paramref name="trueClass"/>: the
    /// diagonal cell, whose right answers are listed least confident first.</param>
    public async Task<MistakesOutcome> QueryAsync(Guid runId, string? trueClass = null, string? predictedClass = null, int take = DefaultTake,
        CancellationToken ct = default)
    {
        if (take < 1 || take > MaxTake) return MistakesOutcome.Refused(PredictFailure.BadInput, $"take must be between 1 and {MaxTake}, not {take}.");
        var (run, analysis, refusal) = await AnalysisAsync(runId, ct);
        if (refusal is not null) return refusal;
        var names = run!.Result!.ClassNames;
        int? t = null, p = null;
        if (trueClass is not null && (t = IndexOf(names, trueClass)) is null)
            return MistakesOutcome.Refused(PredictFailure.BadInput, UnknownClass("true", trueClass, names));
        if (predictedClass is not null && (p = IndexOf(names, predictedClass)) is null)
            return MistakesOutcome.Refused(PredictFailure.BadInput, UnknownClass("predicted", predictedClass, names));

        var a = analysis!;
        bool diagonal = t is not null && t == p;
        var rows = Enumerable.Range(0, a.Index.Length)
            .Where(i => diagonal ? a.True[i] == t && a.Predicted[i] == t
                : a.True[i] != a.Predicted[i] && (t is null || a.True[i] == t) && (p is null || a.Predicted[i] == p));
        rows = diagonal ? rows.OrderBy(i => a.Confidence[i]).ThenBy(i => a.Index[i])
            : rows.OrderByDescending(i => a.Confidence[i]).ThenBy(i => a.Index[i]);
        var matching = rows.ToList();
        var texts = a.Modality == "text" ? datasets.Load(a.DatasetId).Texts : null;
        var examples = matching.Take(take).Select(i => new MistakeExample(a.Index[i], names[a.True[i]], names[a.Predicted[i]], a.Confidence[i],
            a.Modality == "image" ? $"/api/runs/{runId}/mistakes/{a.Index[i]}/image.png" : null,
            texts is null ? null : Cut(texts.Texts[a.Index[i]]))).ToList();
        return new MistakesOutcome(new MistakesView
        {
            RunId = runId, Modality = a.Modality, DatasetId = a.DatasetId, ClassNames = names, TestExamples = a.Index.Length,
            Wrong = Enumerable.Range(0, a.Index.Length).Count(i => a.True[i] != a.Predicted[i]),
            True = t is null ? null : names[t.Value], Predicted = p is null ? null : names[p.Value],
            Order = diagonal ? "right answers, least confident first" : "wrong answers, most confident first",
            Matching = matching.Count, Examples = examples,
        }, null, null);
    }

    /// <summary>A PNG of test example <paramref name="index"/> as the dataset stores it (enlarged to at least
    /// <paramref name="size"/> pixels when smaller, with nearest-neighbour sampling). Refused (404) for an index that is
    /// not in the run's test split.</summary>
    public async Task<(byte[]? Png, MistakesOutcome? Refusal)> ImageAsync(Guid runId, int index, int size = 96, CancellationToken ct = default)
    {
        var (_, analysis, refusal) = await AnalysisAsync(runId, ct);
        if (refusal is not null) return (null, refusal);
        var a = analysis!;
        if (a.Modality != "image") return (null, MistakesOutcome.Refused(PredictFailure.WrongModality, $"Run {runId} classifies texts; its examples have no image."));
        if (Array.IndexOf(a.Index, index) < 0)
            return (null, MistakesOutcome.Refused(PredictFailure.RunNotFound, $"Example {index} is not in run {runId}'s test split."));
        if (datasets.Find(a.DatasetId) is not { } info)
            return (null, MistakesOutcome.Refused(PredictFailure.NotAvailable, $"Dataset '{a.DatasetId}' is no longer stored."));
        var chw = datasets.ReadImages(a.DatasetId, [index])[0];
        return (DatasetThumbnails.Png(chw, info.Width, info.Height, info.Channels, Math.Max(size, Math.Max(info.Width, info.Height))), null);
    }

    async Task<(RunView? Run, Analysis? Analysis, MistakesOutcome? Refusal)> AnalysisAsync(Guid runId, CancellationToken ct)
    {
        var (run, modality, refusal) = await predictor.CheckAsync(runId, ct);
        if (refusal is not null) return (run, null, MistakesOutcome.From(refusal));
        var sha = run!.Result!.TrainedWeights!.Sha256;
        var file = Path.Combine(outputs.DirOf(runId), FileName);
        Analysis? analysis = Read(file);
        if (analysis is null || analysis.WeightsSha256 != sha)
        {
            var lazy = _inFlight.GetOrAdd(runId, _ => new Lazy<Task<(Analysis?, MistakesOutcome?)>>(() => ComputeAsync(run, modality!.Value, file)));
            try { (analysis, var failed) = await lazy.Value.WaitAsync(ct); if (failed is not null) return (run, null, failed); }
            finally { if (lazy.Value.IsCompleted) _inFlight.TryRemove(new(runId, lazy)); }
        }
        if (Disagreement(run, analysis!) is { } problem) return (run, null, MistakesOutcome.Refused(PredictFailure.NotAvailable, problem));
        return (run, analysis, null);
    }

    async Task<(Analysis?, MistakesOutcome?)> ComputeAsync(RunView run, DatasetModality modality, string file)
    {
        // Not the caller's token: a viewer who leaves should not waste a pass another viewer is waiting on.
        var ct = CancellationToken.None;
        var (loaded, problem) = RunTestSplit.Load(run, datasets);
        if (loaded is null) return (null, MistakesOutcome.Refused(PredictFailure.NotAvailable, problem!));
        var (tested, subset, test) = (loaded.Tested, loaded.Subset, loaded.Test);
        var (result, refusal) = await predictor.WithModelAsync(run, modality, subset, (trained, source) =>
            Predictor.PredictAll(trained, source, Enumerable.Range(0, test.Length).ToArray(), Evaluator.BatchSize, ct), ct);
        if (refusal is not null) return (null, MistakesOutcome.From(refusal));
        var labels = tested.Images?.Labels ?? tested.Texts!.Labels;
        var analysis = new Analysis(run.Result!.TrainedWeights!.Sha256, tested.Info.Id, modality == DatasetModality.Image ? "image" : "text",
            test, test.Select(i => labels[i]).ToArray(), result.Predicted, result.Confidence);
        var temp = $"{file}.tmp-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(analysis, Json), ct);
        File.Move(temp, file, overwrite: true);
        return (analysis, null);
    }

    /// <summary>Why the predictions' (true, predicted) counts are not the run's recorded confusion matrix; null when they are.</summary>
    static string? Disagreement(RunView run, Analysis a)
    {
        var recorded = run.Result!.ConfusionMatrix;
        int n = run.Result.ClassNames.Count;
        var counts = new int[n, n];
        for (int i = 0; i < a.Index.Length; i++)
        {
            if ((uint)a.True[i] >= n || (uint)a.Predicted[i] >= n)
                return $"The model's predictions name classes outside the run's {n}: the gallery cannot be matched with its confusion matrix.";
            counts[a.True[i], a.Predicted[i]]++;
        }
        int differing = 0;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
                if (r >= recorded.Count || c >= recorded[r].Count || recorded[r][c] != counts[r, c]) differing++;
        return differing == 0 ? null
            : $"Predicting the {a.Index.Length} test examples again gives counts that differ from the run's recorded confusion matrix in {differing} " +
              $"cell{(differing == 1 ? "" : "s")} (the data may have changed since, or the run's evaluation is not reproducible from its saved weights), " +
              "so no gallery is shown rather than one that disagrees with the matrix.";
    }

    static Analysis? Read(string file)
    {
        if (!File.Exists(file)) return null;
        try { return JsonSerializer.Deserialize<Analysis>(File.ReadAllText(file), Json); }
        catch (JsonException) { return null; }
    }

    static int? IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++) if (names[i] == name) return i;
        return null;
    }

    static string UnknownClass(string which, string name, IReadOnlyList<string> names) =>
        $"The run has no class '{name}' ({which}); its classes are {string.Join(", ", names.Select(n => $"'{n}'"))}.";

    static string Cut(string text)
    {
        var t = text.ReplaceLineEndings(" ").Trim();
        return t.Length <= MaxTextChars ? t : t[..(MaxTextChars - 1)].TrimEnd() + "…";
    }
}
