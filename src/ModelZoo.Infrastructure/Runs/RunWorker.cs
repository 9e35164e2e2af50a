using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelZoo.Core.Cards;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Infrastructure.Runs;

/// <summary>
/// Takes queued runs from the database, oldest first, and trains them one at a time on this process's device.
/// The queue is the database and every epoch ends with a checkpoint, so a restart loses neither queued runs nor
/// the epochs of a running one: a run the portal left behind resumes from its last checkpoint. Free of web
/// dependencies, so a separate worker host can run it as it is.
/// </summary>
public sealed class RunWorker(
    IDbContextFactory<ZooDbContext> dbs, IRunTrainer trainer, TrainingJobs jobs,
    RunEventRecorder recorder, RunCancellations cancellations, RunQueueSignal signal, RunOutputs outputs, ZooPaths paths,
    TimeProvider clock, ILogger<RunWorker> log) : BackgroundService
{
    static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await RecoverInterruptedRunsAsync(stoppingToken);
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

    /// <summary>
    /// Runs left "Running" by a process that died (SIGKILL, power loss) go back to the queue: with a checkpoint they
    /// resume from it when claimed; without one, having never reached their first checkpoint, they start again from
    /// the beginning (nothing was trained yet). Only a run whose checkpoint was recorded but is gone fails, with
    /// that reason. An unreadable checkpoint fails its run when the worker tries to resume it.
    /// </summary>
    async Task RecoverInterruptedRunsAsync(CancellationToken ct)
    {
        await using var db = await dbs.CreateDbContextAsync(ct);
        var stale = await db.Runs.Where(r => r.Status == RunStatus.Running).Select(r => r.Id).ToListAsync(ct);
        foreach (var id in stale)
        {
            var checkpointed = await db.RunEvents.AnyAsync(e => e.RunId == id && e.Kind == RunEventKind.Checkpoint, ct);
            if (outputs.CheckpointOf(id) is null && checkpointed)
            {
                DiscardOutputs(id);
                await FinishAsync(id, RunStatus.Failed,
                    $"The portal stopped while this run was training, and its checkpoint is missing from {outputs.DirOf(id)}, so it cannot resume; start it again.", null, null);
                continue;
            }
            if (outputs.CheckpointOf(id) is null) DiscardOutputs(id);
            await db.Runs.Where(r => r.Id == id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Queued), ct);
            log.LogWarning("Run {Run} was interrupted by a stop of the portal; it is queued to {How}", id,
                checkpointed ? "resume from its checkpoint" : "start again (it had no checkpoint yet)");
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
            // Claim atomically: a cancel may have won the race. A resumed run keeps its first start time.
            var now = clock.GetUtcNow();
            var n = await db.Runs.Where(r => r.Id == next.Id && r.Status == RunStatus.Queued)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running)
                    .SetProperty(r => r.StartedAt, r => r.StartedAt ?? now).SetProperty(r => r.Device, trainer.Device), ct);
            if (n == 1) return next;
        }
    }

    void Execute(RunRecord run, CancellationToken stopping)
    {
        using var cts = cancellations.Register(run.Id, stopping);
        // Read the flag again after registering, not from the claimed snapshot: a cancel that came between the claim
        // and Register set the flag but found no token to cancel (CancelAsync sets the flag first, then cancels).
        if (IsCancelRequested(run.Id)) cts.Cancel();
        var progress = new RecordingProgress(recorder, run.Id);
        var started = run.StartedAt ?? clock.GetUtcNow();
        try
        {
            var request = RunJson.Read<RunRequest>(run.RequestJson);
            var resume = outputs.CheckpointOf(run.Id) is { } checkpoint ? CheckpointState.Read(checkpoint) : null;
            if (resume is not null)
            {
                // Steps after the checkpoint are replayed and recorded again under the same numbers.
                recorder.TruncateAsync(run.Id, resume.EventSeq).GetAwaiter().GetResult();
                ExecuteUpdate(run.Id, s => s.SetProperty(r => r.Resumes, r => r.Resumes + 1));
                progress.Status(new StatusChange(RunStatus.Running,
                    $"Resuming from the checkpoint after epoch {resume.Epoch}: the portal stopped while this run was training.", trainer.Device));
            }
            progress.Status(new StatusChange(RunStatus.Running, "Preparing data and model", trainer.Device));
            var outDir = resume is not null ? outputs.Existing(run.Id) : outputs.Prepare(run.Id);
            var prepared = jobs.Prepare(run.Id, request, outDir);
            var job = prepared.Job with { WeightsFileName = RunOutputs.WeightsFileNameOf(run.Id), Checkpoint = true, Resume = resume is not null };
            var (strategy, options, entry, weights) = (prepared.Strategy, prepared.Options, prepared.Entry, prepared.Weights);

            progress.Status(new StatusChange(RunStatus.Running, "Training", trainer.Device));
            var outcome = trainer.Train(job, progress, cts.Token);
            if (prepared.Overlap is not null) outcome = outcome with { Result = outcome.Result with { PretrainingOverlap = prepared.Overlap } };
            progress.Flush();
            var card = ModelCardBuilder.Build(new CardInput(
                run.Id, run.Name, entry.Manifest,
                weights?.Kind ?? WeightsAvailability.RandomInit, weights?.Sha256,
                job.Data.Info, request, outcome.Result, EpochHistory(run.Id), outcome.Device, outcome.Threads,
                started, clock.GetUtcNow(), outcome.SoftwareVersions, strategy, options, prepared.Target));
            outputs.Tidy(run.Id);
            FinishAsync(run.Id, RunStatus.Succeeded, $"Test accuracy {outcome.Result.TestAccuracy:P2}", outcome.Result, card).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !IsCancelRequested(run.Id))
        {
            // A clean shutdown: the checkpoint stays, and the run resumes from it at the next start.
            var resumable = outputs.CheckpointOf(run.Id) is not null;
            if (!resumable) DiscardOutputs(run.Id);
            ExecuteUpdate(run.Id, s => s.SetProperty(r => r.Status, RunStatus.Queued));
            recorder.RecordAsync(run.Id, RunEventKind.Status, new StatusChange(RunStatus.Queued,
                resumable ? "The portal shut down while this run was training; it resumes from its last checkpoint at the next start."
                          : "The portal shut down before this run's first checkpoint; it starts again at the next start.")).GetAwaiter().GetResult();
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
            var message = e switch
            {
                TrainingDivergedException => e.Message,
                CheckpointUnreadableException => $"The run could not resume: its checkpoint is unreadable. {e.Message}",
                _ when StorageFault.Of(e, paths) is { } fault => fault.Message,
                Catalog.ImportedWeightsMissingException => e.Message,
                _ => $"{e.GetType().Name}: {e.Message}",
            };
            // Also after a saved file: a run that fails after training (card, database) must not offer its weights.
            DiscardOutputs(run.Id);
            FinishAsync(run.Id, RunStatus.Failed, message, null, null).GetAwaiter().GetResult();
        }
        finally
        {
            cancellations.Unregister(run.Id);
            // glibc keeps what a run freed in its arenas: with malloc's bytes in use flat at ~70 MiB, the process held
            // 1.7 GB after 20 small runs (4.9 GB after 11 in a user's try) until the free pages were handed back
            // (docs/benchmarks.md, issue 11: `modelzoo bench memory --mode runs --trim`). The managed heap is
            // compacted and its free regions decommitted first, so what the GC kept from the run goes back too; a
            // full blocking collection of a heap this small takes milliseconds, once per run.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            ModelZoo.Torch.Native.NativeMemory.Trim();
        }
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

    void ExecuteUpdate(Guid id, Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<RunRecord>> set)
    {
        using var db = dbs.CreateDbContext();
        db.Runs.Where(r => r.Id == id).ExecuteUpdate(set);
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
            r.TestAccuracy = result?.TestAccuracy;
            r.TestMacroF1 = result?.MacroF1;
            r.TestEce = result?.Calibration?.Ece;
            r.BestValAccuracy = result?.BestValAccuracy;
            r.TrainSeconds = result?.TrainSeconds;
            r.TrainableParameters = result?.TrainableParameters;
            await db.SaveChangesAsync(CancellationToken.None);
        }
        await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(status, message, trainer.Device));
    }
}
