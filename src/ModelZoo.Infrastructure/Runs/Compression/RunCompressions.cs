using System.Diagnostics;
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

/// <summary>A compression's result, or why there is none (<see cref="Errors"/> by option name for bad input).</summary>
public sealed record CompressionOutcome(CompressionResult? Result, CompressionFailure? Failure, string? Problem,
    IReadOnlyDictionary<string, string>? Errors = null)
{
    internal static CompressionOutcome Refused(CompressionFailure f, string problem, IReadOnlyDictionary<string, string>? errors = null) =>
        new(null, f, problem, errors);
}

/// <summary>
/// Compression at export of a succeeded run's trained model: int8 weights (<see cref="Int8Weights"/>) or magnitude
/// pruning with a short mask-keeping fine-tune (<see cref="PruningMasks"/>, <see cref="PrunedFineTune"/>). Accuracy
/// is measured before and after on exactly the run's test split (<see cref="RunTestSplit"/>, the mistakes gallery's),
/// through the run's own evaluation batch source and under "Try it"'s gate (<see cref="RunPredictor"/>): one model on
/// the CPU at a time, so a compression waits for a prediction and the reverse. Each compression keeps its file and its
/// result (<c>compressions/&lt;id&gt;.json</c>, temp file then rename) in the run's folder; the card's "Compression"
/// section is generated from those results. The request is answered when the work is done (int8 of a ResNet-18 takes
/// seconds; a fine-tune takes about an epoch of the run's training per epoch asked for).
/// </summary>
public sealed class RunCompressions(RunService runs, RunPredictor predictor, RunOutputs outputs, DatasetStore datasets,
    ArchitectureRegistry registry, TimeProvider clock, PipelineOptions? pipelineOptions = null)
{
    public const string Folder = "compressions";
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public const string Int8Loading =
        "Needs custom code to load: int8 weights with per-channel F32 scales (<key> and <key>.scale). Dequantise with " +
        "docs/loaders/load_int8_safetensors.py (Python: numpy/torch) or Int8Weights.Dequantize (C#), then load_state_dict as usual.";
    public const string PrunedLoading =
        "Loads as the run's own weights file does (F32 safetensors, same keys); the pruned weights are stored as zeros, so the file is no smaller.";

    public async Task<CompressionOutcome> CompressAsync(Guid runId, CompressionRequest request, CancellationToken ct = default)
    {
        var errors = CompressionMethods.Validate(request);
        if (errors.Count > 0) return CompressionOutcome.Refused(CompressionFailure.BadInput, string.Join(" ", errors.Values), errors);
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
        var fileName = $"run-{runId:N}.{(request.Method == CompressionMethods.Int8 ? "int8" : "pruned")}-{id.ToString("N")[..8]}.safetensors";
        var target = Path.Combine(dir, fileName);
        var labels = split.Labels;
        try
        {
            var (before, r1) = await predictor.WithModelAsync(run!, modality!.Value, split.Subset, (trained, source) => Accuracy(trained, source, labels, ct), ct);
            if (r1 is not null) return Unavailable(r1);
            CompressionResult result;
            if (request.Method == CompressionMethods.Int8)
            {
                await Task.Run(() => Int8Weights.Save(weightsPath, target), ct);
                var (after, r2) = await predictor.WithModelAsync(run!, modality.Value, split.Subset,
                    (_, trained, source) => Accuracy(trained, source, labels, ct),
                    (_, headShape) => TrainedModel.Load(target, headShape, registry, read: Int8Weights.Dequantize), ct);
                if (r2 is not null) return Unavailable(r2);
                result = new CompressionResult { AccuracyAfter = after, Loading = Int8Loading };
            }
            else
            {
                var sparsity = request.Sparsity!.Value;
                var scope = request.Scope == CompressionMethods.Layer ? PruningScope.Layer : PruningScope.Global;
                var epochs = request.FineTuneEpochs ?? 1;
                var (pruned, r2) = await predictor.WithModelAsync(run!, modality.Value, split.Subset,
                    (job, trained, source) => Prune(run!, job, trained, source, labels, weightsPath, target, sparsity, scope, epochs, ct),
                    (path, headShape) => TrainedModel.Load(path, headShape, registry, frozen: false), ct);
                if (r2 is not null) return Unavailable(r2);
                result = pruned! with { Sparsity = sparsity, Scope = request.Scope ?? CompressionMethods.Global, FineTuneEpochs = epochs, Loading = PrunedLoading };
            }
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

    CompressionResult Prune(RunView run, TrainingJob job, TrainedModel trained, IBatchSource testSource, int[] labels, string weightsPath, string target,
        double sparsity, PruningScope scope, int epochs, CancellationToken ct)
    {
        var model = trained.Model;
        using var masks = PruningMasks.Compute(model, sparsity, scope);
        masks.Apply(model);
        model.eval();
        var pruned = Accuracy(trained, testSource, labels, ct);
        IReadOnlyList<double> losses = [];
        if (epochs > 0)
        {
            // The run's labelled training data and examples, as the worker selected them (seed, label budget, limit).
            var data = datasets.Load(run.DatasetId);
            if (run.Request.TargetDatasetId is { } targetId) data = DomainAlignment.Align(data, datasets.Load(targetId)).Source;
            var h = run.Request.HyperParameters;
            var trainLabels = data.Images?.Labels ?? data.Texts!.Labels;
            var train = TrainingSelection.Select(data.Split.Train, trainLabels, h.LabelsPerClass, h.TrainLimit, h.Seed);
            using var source = BatchSources.For(job, data, trained.Architecture.Modality, model, CPU, pipelineOptions ?? new PipelineOptions(), ct);
            losses = PrunedFineTune.Run(model, masks, source, train, h, epochs, ct);
        }
        var after = Accuracy(trained, testSource, labels, ct);
        var layers = PruningMasks.Measure(model);
        var metadata = SafeTensors.ReadMetadata(weightsPath).ToDictionary(StringComparer.Ordinal);
        metadata["modelzoo.pruning"] = JsonSerializer.Serialize(new { method = "magnitude", sparsity, scope = scope.ToString().ToLowerInvariant(), fineTuneEpochs = epochs });
        SafeTensors.Save(target, model.state_dict(), ScalarType.Float32, metadata);
        long zeros = layers.Sum(l => l.Zeros), total = layers.Sum(l => l.Parameters);
        return new CompressionResult
        {
            AccuracyPruned = pruned, AccuracyAfter = after, FineTuneLosses = losses,
            AchievedSparsity = total == 0 ? 0 : (double)zeros / total,
            Layers = layers.Select(l => new LayerSparsity(l.Key, l.Parameters, l.Zeros, l.Sparsity)).ToList(),
        };
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
