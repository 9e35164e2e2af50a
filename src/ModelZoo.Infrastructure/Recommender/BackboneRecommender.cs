using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Recommender;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Recommender;

/// <summary>
/// The backbone recommender: for a dataset, probes every catalogue entry that has weights on this machine and reads the
/// dataset's modality (a linear probe on cached frozen features of a stratified subset, <see cref="IBackboneProbe"/>),
/// joins the latency measured here (<see cref="LatencyService"/>, batch 1) and ranks them within the budget
/// (<see cref="BackboneRanking"/>). Recommendations run in the background, one at a time, on the device training uses;
/// each is written to <c>recommendations/{id}.json</c> after every backbone, so a report survives a restart and one
/// cut short by it says so.
/// </summary>
public sealed class BackboneRecommender(ZooCatalog catalog, DatasetStore datasets, TrainingJobs jobs, IBackboneProbe probe, LatencyService latency,
    IRunTrainer trainer, ZooPaths paths, TimeProvider clock, ILogger<BackboneRecommender> log, IHostApplicationLifetime? lifetime = null)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
    public const string Interrupted = "The portal stopped while this recommendation ran; start it again (the features computed so far are cached).";

    readonly SemaphoreSlim _one = new(1, 1);
    readonly ConcurrentDictionary<Guid, Recommendation> _live = new();
    readonly ConcurrentDictionary<Guid, CancellationTokenSource> _cancel = new();

    /// <summary>Raised on every change of a running recommendation (the page listens).</summary>
    public event Action<Recommendation>? Changed;

    string Dir => Path.Combine(paths.DataDir, "recommendations");
    /// <summary>The host's stopping token; none where there is no host (the CLI).</summary>
    CancellationToken Stopping => lifetime?.ApplicationStopping ?? CancellationToken.None;

    /// <summary>The entries a recommendation on <paramref name="modality"/> probes: those with weights on this machine.
    /// A backbone without weights would be a random network, whose probe says nothing about transfer.</summary>
    public IReadOnlyList<CatalogEntry> Candidates(DatasetModality modality) =>
        catalog.All().Where(e => e.Weights.HasWeights() && catalog.ModalityOf(e.Id) == modality).OrderBy(e => e.Id, StringComparer.Ordinal).ToList();

    public IReadOnlyDictionary<string, string> Check(RecommendRequest r)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(r.DatasetId)) errors["DatasetId"] = "Choose a dataset.";
        else if (datasets.Find(r.DatasetId) is not { } d) errors["DatasetId"] = $"Dataset '{r.DatasetId}' does not exist or is not ready.";
        else if (Candidates(d.Modality).Count == 0)
            errors["DatasetId"] = $"No catalogue entry that reads {d.Modality.ToString().ToLowerInvariant()}s has weights on this machine; import or fetch some weights first.";
        if (r.LatencyBudgetMs is { } b && (!double.IsFinite(b) || b <= 0)) errors["LatencyBudgetMs"] = "The latency budget must be a positive number of milliseconds (or empty: no budget).";
        if (r.ExamplesPerClass is < RecommendRequest.MinExamplesPerClass or > RecommendRequest.MaxExamplesPerClass)
            errors["ExamplesPerClass"] = $"Examples per class must be between {RecommendRequest.MinExamplesPerClass} and {RecommendRequest.MaxExamplesPerClass}.";
        if (r.ImageSize != 0 && r.ImageSize is < 16 or > 512) errors["ImageSize"] = "Input size must be between 16 and 512 pixels (0: each model's own).";
        if (r.Seed < 0) errors["Seed"] = "Seed must be zero or positive.";
        return errors;
    }

    /// <summary>Queues a recommendation and returns it; it runs in the background.</summary>
    /// <exception cref="ArgumentException">The request is invalid; <see cref="Check"/> says why, by field.</exception>
    public Recommendation Start(RecommendRequest request)
    {
        var errors = Check(request);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors.Values));
        var r = new Recommendation(Guid.NewGuid(), request, RecommendationState.Queued, "Queued: waiting for the recommendation before it.", 0, [],
            trainer.Device, clock.GetUtcNow(), null, []);
        var cts = CancellationTokenSource.CreateLinkedTokenSource(Stopping);
        _cancel[r.Id] = cts;
        Publish(r);
        _ = Task.Run(() => RunAsync(r, cts.Token));
        return r;
    }

    /// <summary>Runs a recommendation on the calling thread (the CLI) and returns it finished; it is kept on disk like
    /// the portal's, so the portal lists it too.</summary>
    /// <exception cref="ArgumentException">The request is invalid; <see cref="Check"/> says why, by field.</exception>
    public Recommendation RunNow(RecommendRequest request, CancellationToken ct)
    {
        var errors = Check(request);
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors.Values));
        var r = new Recommendation(Guid.NewGuid(), request, RecommendationState.Running, "Starting.", 0, [], trainer.Device, clock.GetUtcNow(), null, []);
        var dir = Directory.CreateTempSubdirectory("mz-recommend-").FullName;
        try { return Probe(r, dir, ct); }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            _live.TryRemove(r.Id, out _);
        }
    }

    public bool Cancel(Guid id)
    {
        if (!_cancel.TryGetValue(id, out var cts)) return false;
        cts.Cancel();
        return true;
    }

    public Recommendation? Find(Guid id) => _live.TryGetValue(id, out var r) ? r : Read(Path.Combine(Dir, $"{id:N}.json"));

    /// <summary>Every recommendation on record, newest first.</summary>
    public IReadOnlyList<Recommendation> List()
    {
        var stored = Directory.Exists(Dir) ? Directory.EnumerateFiles(Dir, "*.json").Select(Read).OfType<Recommendation>() : [];
        return stored.Where(s => !_live.ContainsKey(s.Id)).Concat(_live.Values).OrderByDescending(r => r.QueuedAt).ToList();
    }

    Recommendation? Read(string file)
    {
        if (!File.Exists(file)) return null;
        try
        {
            var r = JsonSerializer.Deserialize<Recommendation>(File.ReadAllText(file), Json);
            // Active on disk but not in this process: the portal stopped while it ran.
            return r is { IsActive: true } && !_live.ContainsKey(r.Id) ? r with { State = RecommendationState.Failed, Message = Interrupted } : r;
        }
        catch (JsonException e)
        {
            log.LogWarning("Skipping unreadable recommendation {File}: {Message}", file, e.Message);
            return null;
        }
    }

    async Task RunAsync(Recommendation r, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("mz-recommend-").FullName;
        try
        {
            await _one.WaitAsync(ct);
            try { r = await Task.Run(() => Probe(r, dir, ct), ct); }
            finally { _one.Release(); }
        }
        catch (OperationCanceledException)
        {
            r = r with { State = RecommendationState.Cancelled, Message = Stopping.IsCancellationRequested ? Interrupted : "Cancelled.", FinishedAt = clock.GetUtcNow() };
        }
        catch (Exception e)
        {
            log.LogError(e, "Recommendation {Id} failed", r.Id);
            r = r with { State = RecommendationState.Failed, Message = $"{e.GetType().Name}: {e.Message}", FinishedAt = clock.GetUtcNow() };
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
            _cancel.TryRemove(r.Id, out var cts);
            cts?.Dispose();
        }
        Publish(r);
        _live.TryRemove(r.Id, out _);
    }

    Recommendation Probe(Recommendation r, string dir, CancellationToken ct)
    {
        var request = r.Request;
        var info = datasets.Find(request.DatasetId) ?? throw new InvalidOperationException($"Dataset '{request.DatasetId}' was deleted.");
        var candidates = Candidates(info.Modality);
        var lat = latency.LatestAsync(candidates.Select(c => c.Id), ct).GetAwaiter().GetResult();
        var scores = new List<BackboneScore>();
        int[]? train = null, scored = null;
        var notes = new List<string>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var entry = candidates[i];
            var progress = (double)i / candidates.Count;
            r = Publish(r with { State = RecommendationState.Running, Progress = progress, Message = $"Probing {entry.Id} ({i + 1} of {candidates.Count})." });
            var measured = lat.GetValueOrDefault(entry.Id)?.FirstOrDefault(m => m.Batch == 1);
            ProbeMeasure? measure = null;
            string? error = null;
            try
            {
                var prepared = jobs.Prepare(Guid.NewGuid(), new RunRequest
                {
                    ModelId = entry.Id, DatasetId = request.DatasetId, Strategy = "feature-extraction",
                    HyperParameters = new HyperParameters { Seed = request.Seed, ImageSize = request.ImageSize, Augment = false },
                }, dir);
                var data = prepared.Job.Data;
                if (train is null)
                {
                    var labels = data.Images?.Labels ?? data.Texts!.Labels;
                    var scorePool = data.Split.Test.Length > 0 ? data.Split.Test : data.Split.Validation;
                    train = BackboneRanking.Stratified(data.Split.Train, labels, request.ExamplesPerClass, request.Seed);
                    scored = BackboneRanking.Stratified(scorePool, labels, request.ExamplesPerClass, request.Seed + 1);
                    notes.Add($"Each backbone's probe learns from the same {train.Length:N0} training examples (up to {request.ExamplesPerClass} per class, seed {request.Seed}) " +
                              $"and is scored on the same {scored.Length:N0} {(data.Split.Test.Length > 0 ? "test" : "validation")} examples.");
                }
                measure = probe.Probe(prepared.Job, train, scored!, request.Seed,
                    line => Publish(r with { Message = $"Probing {entry.Id} ({i + 1} of {candidates.Count}): {line}" }, persist: false), ct);
            }
            catch (OperationCanceledException) { throw; }
            catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
            {
                error = e.Message;
                log.LogWarning("Recommendation {Id}: {Model} could not be probed: {Message}", r.Id, entry.Id, e.Message);
            }
            scores.Add(new BackboneScore(entry.Id, entry.Manifest.Architecture, entry.ComputedParams, measure, measured?.MedianMs, measured?.Batch,
                measured?.TakenOnABusyMachine == true, error));
            r = Publish(r with { Scores = BackboneRanking.Rank(scores, request.LatencyBudgetMs), Notes = notes });
        }
        var unmeasured = scores.Where(s => s.LatencyMs is null).Select(s => s.ModelId).ToList();
        if (unmeasured.Count > 0)
            notes.Add($"No latency measured on this machine for {string.Join(", ", unmeasured)}: measure it on the model's page" +
                      (request.LatencyBudgetMs is null ? "." : "; until then it is not ranked against the budget."));
        notes.Add("A linear probe on frozen features ranks backbones for feature extraction; fine-tuning can reorder them " +
                  "(docs/benchmarks.md, \"Backbone recommender\", measures how often).");
        var best = BackboneRanking.Rank(scores, request.LatencyBudgetMs).FirstOrDefault(s => s.Rank == 1);
        return Publish(r with
        {
            State = RecommendationState.Succeeded, Progress = 1, FinishedAt = clock.GetUtcNow(), Notes = notes,
            Message = best is null ? "No backbone could be probed within the budget." : $"Recommended: {best.ModelId} ({best.Probe!.Accuracy:P1} probe accuracy).",
        });
    }

    /// <param name="persist">False for a progress line within a backbone: the page shows it live, and the file is written
    /// again when the backbone's score is in, so the disk sees one write per backbone rather than one every 2 s.</param>
    Recommendation Publish(Recommendation r, bool persist = true)
    {
        _live[r.Id] = r;
        if (persist) Write(r);
        Changed?.Invoke(r);
        return r;
    }

    void Write(Recommendation r)
    {
        Directory.CreateDirectory(Dir);
        var file = Path.Combine(Dir, $"{r.Id:N}.json");
        var tmp = file + $".tmp-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllText(tmp, JsonSerializer.Serialize(r, Json));
            File.Move(tmp, file, overwrite: true);
        }
        catch (IOException e)
        {
            // A full disk must not stop the probing; the live copy still serves the page.
            log.LogWarning("Recommendation {Id} not saved: {Message}", r.Id, e.Message);
            try { File.Delete(tmp); } catch (IOException) { }
        }
    }
}
