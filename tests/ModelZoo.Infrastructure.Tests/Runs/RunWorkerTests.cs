using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;

namespace ModelZoo.Infrastructure.Tests.Runs;

public class RunWorkerTests
{
    /// <summary>Stands in for TorchSharp: reports two steps and an epoch, or throws what the test asks for. With
    /// <paramref name="writes"/> it first leaves what a real trainer could in the run's folder before failing: a
    /// finished weights file and the temp of another write.</summary>
    sealed class ScriptedTrainer(Func<TrainingJob, Exception?>? fail = null, ManualResetEventSlim? gate = null, bool writes = false) : IRunTrainer
    {
        public int Calls;
        public string? OutputDir;
        public string Device => "CPU (test)";
        public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            OutputDir = job.OutputDir;
            if (writes)
            {
                File.WriteAllText(Path.Combine(job.OutputDir, job.WeightsFileName!), "weights");
                File.WriteAllText(Path.Combine(job.OutputDir, job.WeightsFileName + ".tmp-0123"), "half");
            }
            if (fail?.Invoke(job) is { } e) throw e;
            progress.Step(StepProgress.Of(1, 1, 2, 1, 2, 0.7, 1e-3, 100, 1));
            gate?.Wait(TimeSpan.FromSeconds(20));
            ct.ThrowIfCancellationRequested();
            progress.Step(StepProgress.Of(1, 2, 2, 2, 2, 0.5, 1e-3, 100, 0));
            progress.Epoch(EpochMetrics.Of(1, 1, 0.6, 0.7, 0.55, 0.75, 0.1));
            return new TrainingOutcome(new RunResult { TestAccuracy = 0.8, TestExamples = 6, ClassNames = ["a", "b"], PerClassAccuracy = [0.8, 0.8] }, Device, 1, "test");
        }
    }

    static RunRequest Request(string? name = null) => new() { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = name };

    static async Task<RunView> WaitFor(RunService runs, Guid id, Func<RunView, bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var v = (await runs.GetAsync(id))!;
            if (done(v)) return v;
            await Task.Delay(50);
        }
        throw new TimeoutException($"Run {id} did not reach the expected state.");
    }

    [Fact]
    public async Task Launch_QueuesAndTrains_StoringResultCardAndOrderedEvents()
    {
        await using var host = new TestHost(new ScriptedTrainer());
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();

        var launch = await runs.LaunchAsync(Request());
        launch.Ok.ShouldBeTrue();
        var v = await WaitFor(runs, launch.RunId!.Value, r => r.Status.IsTerminal());

        v.Status.ShouldBe(RunStatus.Succeeded);
        v.Device.ShouldBe("CPU (test)");
        v.Result!.TestAccuracy.ShouldBe(0.8);
        v.CardMarkdown.ShouldNotBeNull().ShouldContain("80.00 %");
        // The worker stores the finished run, then records its final status event: wait for that event too.
        var events = await runs.EventsAsync(v.Id);
        for (var until = DateTime.UtcNow.AddSeconds(30); events[^1].Kind != RunEventKind.Status && DateTime.UtcNow < until; await Task.Delay(50))
            events = await runs.EventsAsync(v.Id);
        events.Select(e => e.Seq).ShouldBe(Enumerable.Range(1, events.Count).Select(i => (long)i));
        events.First().Status!.Status.ShouldBe(RunStatus.Queued);
        events.Last().Status!.Status.ShouldBe(RunStatus.Succeeded);
        events.Count(e => e.Kind == RunEventKind.Step).ShouldBe(2);
        events.Single(e => e.Kind == RunEventKind.Epoch).Epoch!.ValAccuracy.ShouldBe(0.75);
    }

    [Fact]
    public async Task Launch_RejectsUnknownModelAndDataset_WithoutStoringAnything()
    {
        await using var host = new TestHost(new ScriptedTrainer(), startWorker: false);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest { ModelId = "nope", DatasetId = "missing" });
        launch.Ok.ShouldBeFalse();
        launch.Errors.Keys.ShouldBe(["ModelId", "DatasetId"], ignoreOrder: true);
        (await runs.ListAsync()).ShouldBeEmpty();
    }

    [Fact]
    public async Task CrashingRun_IsFailedWithItsError_AndTheNextRunStillTrains()
    {
        var trainer = new ScriptedTrainer(job => job.Request.Name == "boom" ? new InvalidOperationException("GPU on fire") : null);
        await using var host = new TestHost(trainer);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();

        var bad = (await runs.LaunchAsync(Request("boom"))).RunId!.Value;
        var good = (await runs.LaunchAsync(Request("fine"))).RunId!.Value;

        var b = await WaitFor(runs, bad, r => r.Status.IsTerminal());
        b.Status.ShouldBe(RunStatus.Failed);
        b.Error.ShouldBe("InvalidOperationException: GPU on fire");
        (await WaitFor(runs, good, r => r.Status.IsTerminal())).Status.ShouldBe(RunStatus.Succeeded);
    }

    [Fact]
    public async Task DivergedRun_ShowsTheTrainersReason()
    {
        await using var host = new TestHost(new ScriptedTrainer(_ => new TrainingDivergedException("The loss became NaN at epoch 1, step 3.")));
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var id = (await runs.LaunchAsync(Request())).RunId!.Value;
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());
        v.Status.ShouldBe(RunStatus.Failed);
        v.Error.ShouldBe("The loss became NaN at epoch 1, step 3.");
    }

    [Fact]
    public async Task Cancel_StopsARunningRun_AndCancelsAQueuedOneAtOnce()
    {
        using var gate = new ManualResetEventSlim(false);
        await using var host = new TestHost(new ScriptedTrainer(gate: gate));
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var first = (await runs.LaunchAsync(Request("first"))).RunId!.Value;
        var second = (await runs.LaunchAsync(Request("second"))).RunId!.Value;
        await WaitFor(runs, first, r => r.Status == RunStatus.Running);
        (await runs.GetAsync(second))!.QueuePosition.ShouldBe(1);

        (await runs.CancelAsync(second)).ShouldBe(RunService.CancelOutcome.Cancelled);
        (await runs.GetAsync(second))!.Status.ShouldBe(RunStatus.Cancelled);

        (await runs.CancelAsync(first)).ShouldBe(RunService.CancelOutcome.CancelRequested);
        gate.Set();
        (await WaitFor(runs, first, r => r.Status.IsTerminal())).Status.ShouldBe(RunStatus.Cancelled);
        (await runs.CancelAsync(first)).ShouldBe(RunService.CancelOutcome.AlreadyFinished);
    }

    [Fact]
    public async Task AFailedRun_KeepsNothingTheTrainerWrote_AndItsWeightsAreRefusedWithTheReason()
    {
        var trainer = new ScriptedTrainer(_ => new InvalidOperationException("out of memory"), writes: true);
        await using var host = new TestHost(trainer);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var outputs = host.Services.GetRequiredService<RunOutputs>();

        var id = (await runs.LaunchAsync(Request())).RunId!.Value;
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());

        v.Status.ShouldBe(RunStatus.Failed);
        trainer.OutputDir.ShouldBe(outputs.DirOf(id), "the run's own folder under the data folder");
        Directory.Exists(outputs.DirOf(id)).ShouldBeFalse("neither the weights nor the temp file survive a failure");
        var lookup = outputs.WeightsOf(v);
        lookup.Path.ShouldBeNull();
        lookup.Problem.ShouldBe($"Run {id} failed, so it saved no weights: InvalidOperationException: out of memory");
    }

    [Fact]
    public async Task ACancelledRun_KeepsNothingTheTrainerWrote_AndARunningOneHasNoWeightsYet()
    {
        using var gate = new ManualResetEventSlim(false);
        var trainer = new ScriptedTrainer(gate: gate, writes: true);
        await using var host = new TestHost(trainer);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var outputs = host.Services.GetRequiredService<RunOutputs>();

        var id = (await runs.LaunchAsync(Request())).RunId!.Value;
        var running = await WaitFor(runs, id, r => r.Status == RunStatus.Running);
        outputs.WeightsOf(running).Problem.ShouldBe($"Run {id} is running: its weights are saved when it succeeds.");
        await runs.CancelAsync(id);
        gate.Set();
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());

        v.Status.ShouldBe(RunStatus.Cancelled);
        Directory.Exists(outputs.DirOf(id)).ShouldBeFalse();
        outputs.WeightsOf(v).Problem.ShouldBe($"Run {id} was cancelled, so it saved no weights.");
    }

    [Fact]
    public async Task ASucceededRunWithoutAWeightsRecord_SaysSo()
    {
        await using var host = new TestHost(new ScriptedTrainer());
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var id = (await runs.LaunchAsync(Request())).RunId!.Value;
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());
        v.Status.ShouldBe(RunStatus.Succeeded);
        host.Services.GetRequiredService<RunOutputs>().WeightsOf(v).Problem.ShouldBe(
            $"Run {id} finished before runs saved their trained weights; start it again to get them.");
    }

    /// <summary>A launched run marked "Running", as a process that died while training it leaves it.</summary>
    static async Task<Guid> LeftRunningAsync(TestHost host)
    {
        var id = (await host.Services.GetRequiredService<RunService>().LaunchAsync(Request())).RunId!.Value;
        await using var db = await host.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        await db.Runs.Where(r => r.Id == id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Running));
        return id;
    }

    /// <summary>A run the process left "Running" before its first checkpoint had nothing trained yet: it is queued
    /// again, starts from the beginning, and what the dead process left in its folder is removed first.</summary>
    [Fact]
    public async Task RunsLeftRunningBeforeAnyCheckpoint_StartAgainFromTheBeginning()
    {
        var trainer = new ScriptedTrainer();
        await using var host = new TestHost(trainer, startWorker: false);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var id = await LeftRunningAsync(host);
        // The process died while saving the weights: the temp file of the write is all that is left.
        var outDir = Directory.CreateDirectory(host.Services.GetRequiredService<RunOutputs>().DirOf(id)).FullName;
        var temp = Path.Combine(outDir, RunOutputs.WeightsFileNameOf(id) + ".tmp-0123");
        File.WriteAllText(temp, "half");

        var worker = ActivatorUtilities.CreateInstance<RunWorker>(host.Services);
        await worker.StartAsync(CancellationToken.None);
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());
        await worker.StopAsync(CancellationToken.None);
        v.Status.ShouldBe(RunStatus.Succeeded);
        trainer.Calls.ShouldBe(1);
        File.Exists(temp).ShouldBeFalse("the interrupted write's temp file went with the old folder");
    }

    /// <summary>A run whose history says it wrote a checkpoint, but whose checkpoint is gone, cannot resume: it
    /// fails with that reason and nothing trains.</summary>
    [Fact]
    public async Task ARunWhoseRecordedCheckpointIsMissing_FailsWithThatReason()
    {
        var trainer = new ScriptedTrainer();
        await using var host = new TestHost(trainer, startWorker: false);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var id = await LeftRunningAsync(host);
        await host.Services.GetRequiredService<RunEventRecorder>().RecordAsync(id, RunEventKind.Checkpoint, new CheckpointInfo(1, 10));

        var worker = ActivatorUtilities.CreateInstance<RunWorker>(host.Services);
        await worker.StartAsync(CancellationToken.None);
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());
        await worker.StopAsync(CancellationToken.None);
        v.Status.ShouldBe(RunStatus.Failed);
        v.Error!.ShouldContain("its checkpoint is missing");
        trainer.Calls.ShouldBe(0);
    }

    /// <summary>A checkpoint that cannot be read fails its run with the reason when the worker tries to resume it;
    /// the worker then serves the next run.</summary>
    [Fact]
    public async Task AnUnreadableCheckpoint_FailsThatRun_AndTheWorkerGoesOn()
    {
        var trainer = new ScriptedTrainer();
        await using var host = new TestHost(trainer, startWorker: false);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var id = await LeftRunningAsync(host);
        var checkpoint = Directory.CreateDirectory(Path.Combine(host.Services.GetRequiredService<RunOutputs>().DirOf(id), CheckpointFiles.Directory)).FullName;
        File.WriteAllText(Path.Combine(checkpoint, CheckpointFiles.State), "{\"epoch\": 2, trunc");
        var next = (await runs.LaunchAsync(Request("next"))).RunId!.Value;

        var worker = ActivatorUtilities.CreateInstance<RunWorker>(host.Services);
        await worker.StartAsync(CancellationToken.None);
        var v = await WaitFor(runs, id, r => r.Status.IsTerminal());
        var n = await WaitFor(runs, next, r => r.Status.IsTerminal());
        await worker.StopAsync(CancellationToken.None);
        v.Status.ShouldBe(RunStatus.Failed);
        v.Error!.ShouldStartWith("The run could not resume: its checkpoint is unreadable.");
        v.Error.ShouldContain("state.json is not a checkpoint state");
        n.Status.ShouldBe(RunStatus.Succeeded);
        Directory.Exists(checkpoint).ShouldBeFalse("a failed run keeps nothing");
    }

    /// <summary>A run records the augmentations it will train with when it is launched, so an edit of the dataset's
    /// profile before the worker gets to it (or before a resume) does not change what the run is.</summary>
    [Fact]
    public async Task Launch_RecordsTheDatasetsAugmentationProfile_SoALaterEditDoesNotChangeTheRun()
    {
        await using var host = new TestHost(new ScriptedTrainer(), startWorker: false);
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var store = host.Services.GetRequiredService<ModelZoo.Infrastructure.Datasets.DatasetStore>();
        var before = ModelZoo.Core.Datasets.AugmentationProfile.For(store.Find("tiny")!);
        var id = (await runs.LaunchAsync(Request())).RunId!.Value;
        store.UpdateAugmentation("tiny", before with { MaxRotationDegrees = 30 });
        (await runs.GetAsync(id))!.Request.HyperParameters.Augmentation.ShouldBe(before);
        var off = (await runs.LaunchAsync(Request() with { HyperParameters = new HyperParameters { Augment = false } })).RunId!.Value;
        (await runs.GetAsync(off))!.Request.HyperParameters.Augmentation.ShouldBeNull("no augmentation, no profile");
    }
}
