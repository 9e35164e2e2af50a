using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs.Predict;
using ModelZoo.Torch.Compression;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Runs.Compression;

public enum CompressionFailure { BadInput, RunNotFound, NotAvailable, NotFound }

/// <summary>A compression's result, the pruning run it launched (<see cref="LaunchedRunId"/>), or why there is neither
/// (<see cref="Errors"/> by option name for bad input).</summary>
public sealed record CompressionOutcome(CompressionResult? Result, CompressionFailure? Failure, string? Problem,
    IReadOnlyDictionary<string, string>? Errors = null)
{
    /// <summary>Pruning: the queued run that prunes and fine-tunes (strategy <c>prune</c>).</summary>
    public Guid? LaunchedRunId { get; init; }

    internal static CompressionOutcome Refused(CompressionFailure f, string problem, IReadOnlyDictionary<string, string>? errors = null) =>
        new(null, f, problem, errors);
}

/// <summary>
/// Compression at export of a succeeded run's trained model. <b>int8</b> weights (<see cref="Int8Weights"/>) are made
/// and measured in the request (seconds): accuracy before and after on exactly the run's test split
/// (<see cref="RunTestSplit"/>, the mistakes gallery's), through the run's own evaluation batch source and under "Try
/// it"'s gate (<see cref="RunPredictor"/>: one model on the CPU at a time). Each keeps its file and its result
/// (<c>compressions/&lt;id&gt;.json</c>, temp file then rename) in the run's folder; the card's "Compression" section is
/// generated from those results. <b>Pruning</b> is a run of its own: the request launches a queued run of the
/// <c>prune</c> strategy with this run as its <c>SourceRunId</c> (same model, data, image size, seed and training
/// selection; the fine-tune's epochs, at a constant rate), and answers with the run's id at once; the worker trains it
/// with live progress, cancellation and resume, and its own card reports what pruning did.
/// </summary>
public sealed class RunCompressions(RunService runs, RunPredictor predictor, RunOutputs outputs, DatasetStore datasets,
    ArchitectureRegistry registry, TimeProvider clock)
{
    public const string Folder = "compressions";
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public const string Int8Loading =
        "Needs custom code to load: int8 weights with per-channel F32 scales (<key> and <key>.scale). Dequantise with " +
        "docs/loaders/load_int8_safetensors.py (Python: numpy/torch) or Int8Weights.Dequantize (C#), then load_state_dict as usual.";
    /// <param name="ownerId">Who launches a pruning run (it is theirs); null: owned by nobody, as with accounts off.</param>
    public async Task<CompressionOutcome> CompressAsync(Guid runId, CompressionRequest request, string? ownerId = null, CancellationToken ct = default)
    {
        var errors = CompressionMethods.Validate(request);
        if (errors.Count > 0) return CompressionOutcome.Refused(CompressionFailure.BadInput, string.Join(" ", errors.Values), errors);
        if (request.Method == CompressionMethods.Prune) return await LaunchPruningAsync(runId, request, ownerId, ct);
        var (run, modality, refusal) = await predictor.CheckAsync(runId, ct);
        if (refusal is not null)
            return CompressionOutcome.Refused(refusal.Failure == PredictFailure.RunNotFound ? CompressionFailure.RunNotFound : CompressionFailure.NotAvailable,
                refusal.Problem!.Replace("can be tried", "can be compressed").Replace("cannot be tried here", "cannot be compressed here"));
        var weights = outputs.WeightsOf(run!);
        if (weights.Path is not { } weightsPath) return CompressionOutcome.Refused(CompressionFailure.NotAvailable, weights.Problem!);
        var (split, problem) = RunTestSplit.Load(run!, datasets);
        if (split is null) return CompressionOutcome.Refused(CompressionFailure.NotAvailable, problem!);

        var watch = Stopwatch.StartNew();
        var id = Guid.NewGuid();
        var dir = Directory.CreateDirectory(Path.Combine(outputs.DirOf(runId), Folder)).FullName;
        var fileName = $"run-{runId:N}.int8-{id.ToString("N")[..8]}.safetensors";
        var target = Path.Combine(dir, fileName);
        var labels = split.Labels;
        try
        {
            var (before, r1) = await predictor.WithModelAsync(run!, modality!.Value, split.Subset, (trained, source) => Accuracy(trained, source, labels, ct), ct);
            if (r1 is not null) return Unavailable(r1);
            await Task.Run(() => Int8Weights.Save(weightsPath, target), ct);
            var (after, r2) = await predictor.WithModelAsync(run!, modality.Value, split.Subset,
                (_, trained, source) => Accuracy(trained, source, labels, ct),
                (_, headShape) => TrainedModel.Load(target, headShape, registry, read: Int8Weights.Dequantize), ct);
            if (r2 is not null) return Unavailable(r2);
            var result = new CompressionResult { AccuracyAfter = after, Loading = Int8Loading };
            result = result with
            {
                Id = id, RunId = runId, Method = request.Method, CreatedAt = clock.GetUtcNow(), TestExamples = labels.Length,
                RecordedAccuracy = run!.Result!.TestAccuracy, AccuracyBefore = before,
                BytesBefore = weights.Weights!.Bytes, BytesAfter = new FileInfo(target).Length,
                File = fileName, Sha256 = Sha256.OfFile(target), Seconds = watch.Elapsed.TotalSeconds,
            };
            var json = Path.Combine(dir, $"{id:N}.json");
            var temp = $"{json}.tmp-{Guid.NewGuid():N}";
            await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(result, Json), CancellationToken.None);
            File.Move(temp, json, overwrite: true);
            return new CompressionOutcome(result, null, null);
        }
        catch (Exception e) when (e is WeightsFormatException or TrainedWeightsException or InvalidOperationException or NotSupportedException or OperationCanceledException)
        {
            if (File.Exists(target)) File.Delete(target);
            if (e is OperationCanceledException) throw;
            return CompressionOutcome.Refused(CompressionFailure.NotAvailable, $"Run {runId}'s model could not be compressed: {e.Message}");
        }
        catch
        {
            if (File.Exists(target)) File.Delete(target);
            throw;
        }
    }

    /// <summary>
    /// Queues the <c>prune</c> run of a run's model (<see cref="CompressionMethods.PruneRun"/>). The launch applies the same checks as any run's, so a run that did
    /// not succeed or saved no model is refused under <c>SourceRunId</c> (409 here), and bad options by name (400).
    /// </summary>
    async Task<CompressionOutcome> LaunchPruningAsync(Guid runId, CompressionRequest request, string? ownerId, CancellationToken ct)
    {
        if (await runs.GetAsync(runId, ct) is not { } source) return CompressionOutcome.Refused(CompressionFailure.RunNotFound, $"There is no run {runId}.");
        var epochs = request.FineTuneEpochs ?? 1;
        var sparsity = request.Sparsity!.Value;
        var scope = request.Scope ?? CompressionMethods.Global;
        var name = $"Pruned {sparsity.ToString("P0", CultureInfo.InvariantCulture)} ({scope}) of {source.Name ?? $"{source.ModelId} on {source.DatasetId}"}";
        var launch = CompressionMethods.PruneRun(source.Request, runId, sparsity, scope, epochs, name);
        var launched = await runs.LaunchAsync(launch, ownerId, ct);
        if (launched.Ok) return new CompressionOutcome(null, null, null) { LaunchedRunId = launched.RunId };
        var problem = string.Join(" ", launched.Errors.Values);
        return launched.Errors.Keys.All(k => k == "SourceRunId")
            ? CompressionOutcome.Refused(CompressionFailure.NotAvailable, problem)
            : CompressionOutcome.Refused(CompressionFailure.BadInput, problem, launched.Errors);
    }

    static double Accuracy(TrainedModel trained, IBatchSource source, int[] labels, CancellationToken ct)
    {
        var (predicted, _) = Predictor.PredictAll(trained, source, Enumerable.Range(0, labels.Length).ToArray(), Evaluator.BatchSize, ct);
        int right = 0;
        for (int i = 0; i < labels.Length; i++) if (predicted[i] == labels[i]) right++;
        return labels.Length == 0 ? 0 : (double)right / labels.Length;
    }

    static CompressionOutcome Unavailable(PredictOutcome refusal) => CompressionOutcome.Refused(CompressionFailure.NotAvailable, refusal.Problem!);

    /// <summary>The run's compressions, oldest first; null when there is no such run.</summary>
    public async Task<IReadOnlyList<CompressionResult>?> ListAsync(Guid runId, CancellationToken ct = default) =>
        await runs.GetAsync(runId, ct) is null ? null : Stored(outputs.DirOf(runId));

    /// <summary>The results stored in a run's folder, oldest first (a file that does not parse is skipped: a result is
    /// only ever renamed into place whole).</summary>
    public static IReadOnlyList<CompressionResult> Stored(string runDir)
    {
        var dir = Path.Combine(runDir, Folder);
        if (!Directory.Exists(dir)) return [];
        var list = new List<CompressionResult>();
        foreach (var f in Directory.EnumerateFiles(dir, "*.json"))
        {
            try { if (JsonSerializer.Deserialize<CompressionResult>(File.ReadAllText(f), Json) is { } r) list.Add(r); }
            catch (JsonException) { }
        }
        return list.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id).ToList();
    }

    /// <summary>The compressed file to download, or why there is none.</summary>
    public async Task<(string? Path, string? FileName, string? Problem)> FileAsync(Guid runId, Guid compressionId, CancellationToken ct = default)
    {
        if (await ListAsync(runId, ct) is not { } list) return (null, null, $"There is no run {runId}.");
        if (list.FirstOrDefault(c => c.Id == compressionId) is not { } c) return (null, null, $"Run {runId} has no compression {compressionId}.");
        var path = Path.Combine(outputs.DirOf(runId), Folder, c.File);
        if (Path.GetFileName(c.File) != c.File || !File.Exists(path))
            return (null, null, $"The file of compression {compressionId} ({c.File}) is missing from the run's folder.");
        return (path, c.File, null);
    }
}
