using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Torch.Benchmarks;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;

namespace ModelZoo.Infrastructure.Catalog;

public sealed class LatencyOptions
{
    public const string Section = "Latency";
    /// <summary>The batch measured besides batch 1: batch 1 is interactive latency, a larger one shows throughput.</summary>
    public int BatchSize { get; set; } = 8;
    public int MaxBatch { get; set; } = 64;
    public int Warmup { get; set; } = 2;
    /// <summary>Timed iterations per batch; the median and p90 come from these.</summary>
    public int Iterations { get; set; } = 15;
    /// <summary>How often a measurement waiting for a training run checks whether the run has finished.</summary>
    public double TrainingPollSeconds { get; set; } = 5;
}

public enum LatencyRequestOutcome { Queued, AlreadyQueued, NotFound, Unsupported }

public sealed record LatencyRequestResult(LatencyRequestOutcome Outcome, LatencyJob? Job, string? Error = null);

/// <summary>The result of one attempt: a stored measurement, or why nothing was measured.</summary>
public sealed record LatencyAttempt(LatencyMeasurement? Measurement, string? Refusal);

/// <summary>
/// "Measure latency on this machine": times inference of a catalogue entry (eval mode, no_grad, random weights, the
/// manifest's input size, the configured threads) with <see cref="ModelBenchmark"/> and stores every result.
/// Requests queue here and run one at a time on a dedicated thread, never on a request thread. Nothing is measured
/// while a training run is in progress: the two would share the cores and both timings would be meaningless, so a
/// queued measurement waits for the run to finish, and one that a run overlapped is discarded and taken again.
/// Job states live in memory (they are seconds to minutes long); results live in the database.
/// </summary>
public sealed class LatencyService(
    IDbContextFactory<ZooDbContext> dbs, ZooCatalog catalog, ArchitectureRegistry registry, IOptions<LatencyOptions> options,
    TimeProvider clock, ILogger<LatencyService> log) : BackgroundService
{
    public const string WaitingForTraining = "Waiting for the training run to finish";

    readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    readonly ConcurrentDictionary<string, LatencyJob> _jobs = new(StringComparer.Ordinal);
    readonly SemaphoreSlim _oneAtATime = new(1, 1);
    readonly Lock _gate = new();
    LatencyOptions O => options.Value;

    /// <summary>Raised on every state or progress change of a job, from a background thread.</summary>
    public event Action<LatencyJob>? Changed;

    public LatencyJob? JobOf(string modelId) => _jobs.GetValueOrDefault(modelId);

    /// <summary>Queues a measurement at batch 1 and <paramref name="batch"/> (default: the configured batch).
    /// A model already queued or being measured keeps its job.</summary>
    public LatencyRequestResult Request(string modelId, int? batch = null)
    {
        var manifest = catalog.ManifestOf(modelId);
        if (manifest is null) return new(LatencyRequestOutcome.NotFound, null, $"No catalogue entry '{modelId}'.");
        if (Unsupported(manifest) is { } why) return new(LatencyRequestOutcome.Unsupported, null, why);
        var b = batch ?? O.BatchSize;
        if (b < 1 || b > O.MaxBatch) return new(LatencyRequestOutcome.Unsupported, null, $"Batch must be between 1 and {O.MaxBatch}.");
        LatencyJob job;
        lock (_gate)
        {
            if (_jobs.TryGetValue(modelId, out var current) && current.IsActive)
                return new(LatencyRequestOutcome.AlreadyQueued, current);
            job = new LatencyJob(modelId, new[] { 1, b }.Distinct().ToList(), LatencyJobState.Queued, "Queued", 0, clock.GetUtcNow());
            _jobs[modelId] = job;
            _queue.Writer.TryWrite(modelId);
        }
        Changed?.Invoke(job);
        return new(LatencyRequestOutcome.Queued, job);
    }

    /// <summary>Why this entry cannot be measured, or null. Image models get images of their input size, text models
    /// full sequences of their input size in tokens (the longest input the entry accepts, so the slowest case).</summary>
    public string? Unsupported(ModelManifest m) =>
        !registry.Contains(m.Architecture) ? $"Architecture '{m.Architecture}' is not implemented." : null;

    public async Task<IReadOnlyList<LatencyMeasurement>> HistoryAsync(string modelId, int take = 100, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var rows = await db.Latencies.AsNoTracking().Where(x => x.ModelId == modelId)
            .OrderByDescending(x => x.MeasuredAt).ThenByDescending(x => x.Id).Take(take).ToListAsync(ct);
        return rows.Select(ToMeasurement).ToList();
    }

    /// <summary>The newest measurement per model and batch, batches in ascending order.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<LatencyMeasurement>>> LatestAsync(
        IEnumerable<string>? modelIds = null, CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var query = db.Latencies.AsNoTracking();
        if (modelIds is not null)
        {
            var ids = modelIds.ToList();
            query = query.Where(x => ids.Contains(x.ModelId));
        }
        // The table holds a handful of rows per model; grouping in memory keeps the query provider-neutral.
        var rows = await query.ToListAsync(ct);
        return rows.GroupBy(r => r.ModelId).ToDictionary(g => g.Key, g => (IReadOnlyList<LatencyMeasurement>)g
            .GroupBy(r => r.Batch).Select(b => b.OrderByDescending(r => r.MeasuredAt).ThenByDescending(r => r.Id).First())
            .OrderBy(r => r.Batch).Select(ToMeasurement).ToList());
    }

    public async Task<bool> TrainingInProgressAsync(CancellationToken ct = default)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Runs.AnyAsync(r => r.Status == RunStatus.Running, ct);
    }

    /// <summary>
    /// Measures one batch size now and stores the result; refuses (nothing measured, nothing stored) while a training
    /// run is in progress, and discards the timings when a run started during the measurement.
    /// </summary>
    public async Task<LatencyAttempt> MeasureNowAsync(string modelId, int batch, Action<int, int>? onIteration = null,
        CancellationToken ct = default)
    {
        var m = catalog.ManifestOf(modelId) ?? throw new KeyNotFoundException($"No catalogue entry '{modelId}'.");
        if (Unsupported(m) is { } why) throw new NotSupportedException(why);
        await _oneAtATime.WaitAsync(ct);
        try
        {
            if (await TrainingInProgressAsync(ct)) return new(null, WaitingForTraining);
            var threads = TorchRuntime.Threads > 0 ? TorchRuntime.Threads : Environment.ProcessorCount;
            // The entry's own shape: a house BERT-mini is not bert-base, a house VGG's head is not the reference one.
            var spec = new BenchSpec(m.Architecture, BenchMode.Inference, batch, m.Preprocessing.InputSize, threads, O.Warmup, O.Iterations,
                catalog.OptionsOf(m));
            var started = clock.GetUtcNow();
            var cpu = CpuUsage.Start();
            // A dedicated thread: a measurement is CPU-bound for seconds and must not hold a thread-pool thread.
            var times = await Task.Factory.StartNew(() => ModelBenchmark.Measure(spec, registry, onIteration, ct), ct,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (await TrainingStartedSinceAsync(started, ct))
                return new(null, "A training run started during the measurement; its timings were discarded. " + WaitingForTraining);

            var row = new LatencyRecord
            {
                ModelId = m.Id, Architecture = m.Architecture, Batch = batch, InputSize = m.Preprocessing.InputSize,
                Threads = threads, Device = CpuDevice.Value, MedianMs = LatencyStats.Median(times),
                P90Ms = LatencyStats.Percentile(times, 90), Iterations = times.Length, MeasuredAt = WholeMilliseconds(clock.GetUtcNow()),
                SoftwareVersions = TorchRuntime.SoftwareVersions + (InferenceLayout.UsedFor(m.Architecture, registry) ? ", channels-last inference" : ""),
                OtherCpuPercent = cpu.OtherPercent(),
            };
            await using (var db = await dbs.CreateDbContextAsync(ct))
            {
                db.Latencies.Add(row);
                await db.SaveChangesAsync(ct);
            }
            log.LogInformation("Latency of {Model} at batch {Batch}: median {Median:F2} ms, p90 {P90:F2} ms ({Threads} threads, other processes {Other:F0} % CPU)",
                m.Id, batch, row.MedianMs, row.P90Ms, threads, row.OtherCpuPercent);
            return new(ToMeasurement(row), null);
        }
        finally { _oneAtATime.Release(); }
    }

    async Task<bool> TrainingStartedSinceAsync(DateTimeOffset since, CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        return await db.Runs.AnyAsync(r => r.Status == RunStatus.Running || (r.StartedAt != null && r.StartedAt >= since), ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var id in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                try { await RunJobAsync(id, stoppingToken); }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { throw; }
                catch (Exception e)
                {
                    // One failed measurement stays with its model; the queue keeps serving.
                    log.LogError(e, "Latency measurement of {Model} failed", id);
                    Update(id, j => j with { State = LatencyJobState.Failed, Message = $"{e.GetType().Name}: {e.Message}", FinishedAt = clock.GetUtcNow() });
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    async Task RunJobAsync(string id, CancellationToken ct)
    {
        var job = _jobs[id];
        var n = job.Batches.Count;
        var results = new List<LatencyMeasurement>();
        for (int k = 0; k < n; k++)
        {
            var (index, batch) = (k, job.Batches[k]);
            while (true)
            {
                if (await TrainingInProgressAsync(ct))
                {
                    Update(id, j => j with { State = LatencyJobState.WaitingForTraining, Message = WaitingForTraining });
                    await Task.Delay(TimeSpan.FromSeconds(O.TrainingPollSeconds), clock, ct);
                    continue;
                }
                var label = $"Measuring batch {batch} ({k + 1} of {n})";
                Update(id, j => j with { State = LatencyJobState.Measuring, Message = label, Progress = (double)k / n });
                var attempt = await MeasureNowAsync(id, batch,
                    (done, total) => Update(id, j => j with { Progress = (index + (double)done / total) / n }), ct);
                if (attempt.Measurement is { } measured) { results.Add(measured); break; }
                Update(id, j => j with { State = LatencyJobState.WaitingForTraining, Message = attempt.Refusal ?? WaitingForTraining });
                await Task.Delay(TimeSpan.FromSeconds(O.TrainingPollSeconds), clock, ct);
            }
        }
        var summary = string.Join(", ", results.Select(r => $"batch {r.Batch}: {r.MedianMs:0.#} ms"));
        Update(id, j => j with { State = LatencyJobState.Succeeded, Message = $"Measured ({summary})", Progress = 1, FinishedAt = clock.GetUtcNow() });
    }

    void Update(string id, Func<LatencyJob, LatencyJob> change)
    {
        LatencyJob updated;
        lock (_gate)
        {
            if (!_jobs.TryGetValue(id, out var current)) return;
            updated = change(current);
            _jobs[id] = updated;
        }
        try { Changed?.Invoke(updated); }
        catch (Exception e) { log.LogWarning(e, "A latency listener failed"); }
    }

    /// <summary>The stored timestamp keeps 0.1 ms (DateTimeOffsetToBinaryConverter); rounding first makes the
    /// returned measurement equal to the one read back later.</summary>
    static DateTimeOffset WholeMilliseconds(DateTimeOffset t) =>
        new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    static LatencyMeasurement ToMeasurement(LatencyRecord r) => new()
    {
        Id = r.Id, ModelId = r.ModelId, Architecture = r.Architecture, Batch = r.Batch, InputSize = r.InputSize,
        Threads = r.Threads, Device = r.Device, MedianMs = r.MedianMs, P90Ms = r.P90Ms, Iterations = r.Iterations,
        MeasuredAt = r.MeasuredAt, SoftwareVersions = r.SoftwareVersions, OtherCpuPercent = r.OtherCpuPercent,
    };

    /// <summary>"CPU (model name)": the benchmark runs on the CPU, and a timing means little without the processor.</summary>
    static readonly Lazy<string> CpuDevice = new(() =>
    {
        try
        {
            var name = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
            return string.IsNullOrWhiteSpace(name) ? "CPU" : $"CPU ({name})";
        }
        catch (IOException) { return "CPU"; }
    });
}
