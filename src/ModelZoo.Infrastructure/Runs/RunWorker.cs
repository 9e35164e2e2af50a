using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// Takes queued runs from the database, oldest first, and trains them one at a time on this process's device.
/// The queue is the database, so a restart loses nothing that was queued. Free of web dependencies, so a separate
/// worker host can run it as it is.
/// </summary>
public sealed class RunWorker(
    IDbContextFactory<ZooDbContext> dbs, IRunTrainer trainer, ZooCatalog catalog, DatasetStore datasets,
    RunEventRecorder recorder, RunCancellations cancellations, RunQueueSignal signal, RunOutputs outputs,
    TimeProvider clock, ILogger<RunWorker> log) : BackgroundService
{
    static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await FailInterruptedRunsAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var run = await ClaimNextAsync(stoppingToken);
            if (run is null)
            {
                try { await signal.WaitAsync(PollInterval, stoppingToken); } catch (OperationCanceledException) { break; }
                continue;
            }
            // A dedicated thread: training is long, CPU-bound and must not starve the web host's thread pool.
            await Task.Factory.StartNew(() => Execute(run, stoppingToken), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Runs left "Running" by a process that died cannot resume: mark them failed with the reason, and
    /// remove what they wrote (a weights file's temp, if the process died while saving it).</summary>
    async Task FailInterruptedRunsAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var stale = await db.Runs.Where(r => r.Status == RunStatus.Running).Select(r => r.Id).ToListAsync(ct);
        foreach (var id in stale)
        {
            DiscardOutputs(id);
            await FinishAsync(id, RunStatus.Failed, "The portal stopped while this run was training; start it again.", null, null);
        }
    }

    async Task<RunRecord?> ClaimNextAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        while (true)
        {
            var next = await db.Runs.AsNoTracking().Where(r => r.Status == RunStatus.Queued)
                .OrderBy(r => r.CreatedAt).FirstOrDefaultAsync(ct);
            if (next is null) return null;
            // Claim atomically: a cancel may have won the race.
            var n = await db.Runs.Where(r => r.Id == next.Id && r.Status == RunStatus.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running)
                    .SetProperty(r => r.StartedAt, clock.GetUtcNow()).SetProperty(r => r.Device, trainer.Device), ct);
            if (n == 1) return next;
        }
    }

    void Execute(RunRecord run, CancellationToken stopping)
    {
        using var cts = cancellations.Register(run.Id, stopping);
        var progress = new RecordingProgress(recorder, run.Id);
        var started = clock.GetUtcNow();
        try
        {
            progress.Status(new StatusChange(RunStatus.Running, "Preparing data and model", trainer.Device));
            var request = RunJson.Read<RunRequest>(run.RequestJson);
            var entry = catalog.Find(run.ModelId) ?? throw new InvalidOperationException($"Model '{run.ModelId}' is no longer in the catalogue.");
            // Before the data: a missing vocabulary should be the reason given, not whatever loading texts hits first.
            var text = catalog.TextFilesOf(entry.Manifest);
            if (entry.Manifest.Text is not null && text.Files is null) throw new InvalidOperationException(text.MissingMessage(entry.Id));
            var data = datasets.Load(run.DatasetId);
            var outDir = outputs.Prepare(run.Id);
            // Read once: the card must name exactly the weights the trainer loads.
            var weights = catalog.StartingWeightsOf(entry.Manifest);
            var job = new TrainingJob(run.Id, request, entry.Manifest, data, weights?.Path, outDir)
            {
                Text = text.Files,
                WeightsFileName = RunOutputs.WeightsFileNameOf(run.Id),
            };
            if (run.CancelRequested) cts.Cancel();

            progress.Status(new StatusChange(RunStatus.Running, "Training", trainer.Device));
            var outcome = trainer.Train(job, progress, cts.Token);
            var card = ModelCardBuilder.Build(new CardInput(
                run.Id, run.Name, entry.Manifest,
                weights?.Kind ?? WeightsAvailability.RandomInit, weights?.Sha256,
                data.Info, request, outcome.Result, EpochHistory(run.Id), outcome.Device, outcome.Threads,
                started, clock.GetUtcNow(), outcome.SoftwareVersions));
            FinishAsync(run.Id, RunStatus.Succeeded, $"Test accuracy {outcome.Result.TestAccuracy:P2}", outcome.Result, card).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !IsCancelRequested(run.Id))
        {
            DiscardOutputs(run.Id);
            FinishAsync(run.Id, RunStatus.Failed, "The portal shut down while this run was training; start it again.", null, null).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            DiscardOutputs(run.Id);
            FinishAsync(run.Id, RunStatus.Cancelled, "Cancelled by user", null, null).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            // Any failure of one run stays with that run: the worker and the portal keep serving.
            log.LogError(e, "Run {Run} failed", run.Id);
            var message = e is TrainingDivergedException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            // Also after a saved file: a run that fails after training (card, database) must not offer its weights.
            DiscardOutputs(run.Id);
            FinishAsync(run.Id, RunStatus.Failed, message, null, null).GetAwaiter().GetResult();
        }
        finally { cancellations.Unregister(run.Id); }
    }

    /// <summary>Only a succeeded run keeps outputs. Never throws: the run's final status must still be written.</summary>
    void DiscardOutputs(Guid id)
    {
        try { outputs.Discard(id); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning(e, "Could not remove the outputs of run {Run}", id);
        }
    }

    bool IsCancelRequested(Guid id)
    {
        using var db = dbs.CreateDbContext();
        return db.Runs.AsNoTracking().Where(r => r.Id == id).Select(r => r.CancelRequested).FirstOrDefault();
    }

    IReadOnlyList<EpochMetrics> EpochHistory(Guid id)
    {
        using var db = dbs.CreateDbContext();
        return db.RunEvents.AsNoTracking().Where(e => e.RunId == id && e.Kind == RunEventKind.Epoch).OrderBy(e => e.Seq)
            .AsEnumerable().Select(e => RunEventRecorder.ToEvent(e).Epoch!).ToList();
    }

    async Task FinishAsync(Guid id, RunStatus status, string message, RunResult? result, string? card)
    {
        await using (var db = await dbs.CreateDbContextAsync(CancellationToken.None))
        {
            var r = await db.Runs.FirstAsync(x => x.Id == id);
            r.Status = status;
            r.FinishedAt = clock.GetUtcNow();
            r.Error = status == RunStatus.Failed ? message : null;
            r.ResultJson = result is null ? null : RunJson.Write(result);
            r.CardMarkdown = card;
            await db.SaveChangesAsync(CancellationToken.None);
        }
        await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(status, message, trainer.Device));
    }
}
