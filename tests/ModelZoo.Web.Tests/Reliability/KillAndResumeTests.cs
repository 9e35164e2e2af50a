using System.Net.Http.Json;
using ModelZoo.Core.Runs;

namespace ModelZoo.Web.Tests.Reliability;

/// <summary>
/// The portal as its own process, killed with SIGKILL in the middle of a run and started again on the same data
/// folder: the run resumes from its last checkpoint and finishes, its history has every step exactly once, and it
/// ends with the same losses and test accuracy as the same run left alone. (docs/reliability.md, "SIGKILL during training")
/// </summary>
public sealed class KillAndResumeTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    const int Epochs = 4, StepsPerEpoch = 10;
    readonly string _dataDir = Directory.CreateTempSubdirectory("mz-kill-").FullName;
    readonly ModelZoo.Infrastructure.Tests.Weights.TestZoo _zoo = new();

    public void Dispose()
    {
        _zoo.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    // 160 training examples in batches of 16: ten steps an epoch.
    static RunRequest Request(string name) => new()
    {
        ModelId = "resnet18.scratch", DatasetId = "noise", Strategy = "full-fine-tune", Name = name,
        HyperParameters = new HyperParameters { Epochs = Epochs, BatchSize = 16, LearningRate = 1e-3, Seed = 11, ImageSize = 16, Augment = true, TrainLimit = 160 },
    };

    Dictionary<string, string> Settings() => new() { ["Storage:ZooDir"] = _zoo.Dir };

    [Fact]
    public async Task APortalKilledMidRun_ResumesTheRunFromItsCheckpoint_WithNoGapOrDuplicate_AndTheSameResult()
    {
        PortalProcess.WriteNoiseDataset(_dataDir);
        _zoo.Add("scratch", weights: null, numClasses: 2);
        Guid id;
        int killedAfterStep = 0;
        await using (var first = await PortalProcess.StartAsync(_dataDir, Settings()))
        {
            id = await first.LaunchAsync(Request("killed"));
            // Wait for the checkpoint of epoch 1 and a few steps of epoch 2, then kill without warning.
            await first.WaitUntilAsync(async () =>
            {
                var events = await first.EventsAsync(id);
                if (!events.Any(e => e.Checkpoint is { Epoch: >= 1 }) || !events.Any(e => e.Step is { Epoch: 2, Step: >= 3 })) return false;
                killedAfterStep = events.Where(e => e.Step is not null).Max(e => e.Step!.GlobalStep);
                return true;
            }, "the first checkpoint and steps after it");
            first.Kill();
        }

        await using var second = await PortalProcess.StartAsync(_dataDir, Settings());
        var resumed = await second.WaitFinishedAsync(id);
        resumed.Status.ShouldBe(RunStatus.Succeeded, second.Log);
        var history = await second.EventsAsync(id);

        history.Select(e => e.Seq).ShouldBe(Enumerable.Range(1, history.Count).Select(i => (long)i), "no gap and no duplicate in the numbering");
        var steps = history.Where(e => e.Step is not null).Select(e => e.Step!).ToList();
        steps.Select(s => s.GlobalStep).ShouldBe(Enumerable.Range(1, Epochs * StepsPerEpoch), "every step exactly once, in order");
        history.Where(e => e.Epoch is not null).Select(e => e.Epoch!.Epoch).ShouldBe([1, 2, 3, 4]);
        var resumedAfter = resumed.Result!.ResumedAfterEpochs.ShouldHaveSingleItem();
        resumedAfter.ShouldBeInRange(1, 3);
        killedAfterStep.ShouldBeGreaterThan(resumedAfter * StepsPerEpoch, "steps after the checkpoint were lost with the process and replayed");
        history.ShouldContain(e => e.Status != null && e.Status.Message!.StartsWith($"Resuming from the checkpoint after epoch {resumedAfter}"));
        resumed.CardMarkdown!.ShouldContain($"resumed from its checkpoint after epoch {resumedAfter}");
        resumed.Resumes.ShouldBe(1);
        Directory.Exists(Path.Combine(_dataDir, "runs", id.ToString(), "checkpoint")).ShouldBeFalse("a finished run keeps only its weights");

        // The same run, left alone, in the same process: a resumed seeded CPU run replays the same steps.
        var alone = await second.WaitFinishedAsync(await second.LaunchAsync(Request("alone")));
        var aloneHistory = await second.EventsAsync(alone.Id);
        var aloneSteps = aloneHistory.Where(e => e.Step is not null).Select(e => e.Step!).ToList();
        aloneSteps.Select(s => (s.Epoch, s.Step, s.GlobalStep)).ShouldBe(steps.Select(s => (s.Epoch, s.Step, s.GlobalStep)),
            "exactly the steps an uninterrupted run has");
        var largest = steps.Zip(aloneSteps, (a, b) => Math.Abs(a.Loss - b.Loss)).Max();
        // Measured: identical losses (largest difference 0) and test accuracy: the same seeds, orders and kernels.
        output.WriteLine($"killed after step {killedAfterStep}; resumed after epoch {resumedAfter}; largest loss difference from the uninterrupted run {largest:G3}; " +
                         $"test accuracy {resumed.Result.TestAccuracy:P2} and {alone.Result!.TestAccuracy:P2}");
        largest.ShouldBeLessThan(1e-4, "the resumed run's losses are the uninterrupted run's");
        resumed.Result.TestAccuracy.ShouldBe(alone.Result!.TestAccuracy);
        // The metrics API serves the same history: one loss point per step, none twice.
        var loss = (await second.Http.GetFromJsonAsync<List<ModelZoo.Infrastructure.Runs.MetricPoint>>($"/api/runs/{id}/metrics/loss", PortalProcess.Json))!;
        loss.Where(p => p.Step is not null).Select(p => p.Step!.Value).ShouldBe(Enumerable.Range(1, Epochs * StepsPerEpoch), "the metrics table has each step's loss once");
    }
}
