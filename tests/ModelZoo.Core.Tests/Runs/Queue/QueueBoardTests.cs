using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Queue;

namespace ModelZoo.Core.Tests.Runs.Queue;

public class QueueBoardTests
{
    static readonly DateTimeOffset T0 = new(2026, 12, 7, 7, 0, 0, TimeSpan.Zero);

    static RunView Run(int n, RunStatus status, int? position = null, string model = "resnet18.tv_in1k", string dataset = "digits",
        string strategy = "feature-extraction", DateTimeOffset? started = null, DateTimeOffset? finished = null, int resumes = 0, Guid? sweep = null) => new()
    {
        Id = Guid.Parse($"0194a3b0-0000-7000-8000-{n:D12}"), Name = $"run {n}", Status = status, QueuePosition = position,
        ModelId = model, DatasetId = dataset, Strategy = strategy, CreatedAt = T0.AddMinutes(-100 + n), StartedAt = started,
        FinishedAt = finished, Resumes = resumes, ExperimentId = sweep, Device = status == RunStatus.Queued ? null : "CPU (test)",
    };

    /// <summary>A step recorded <paramref name="secondsAgo"/> before now with the trainer's ETA at that moment.</summary>
    static LatestStep Step(double? eta, double secondsAgo = 0, int global = 50, int total = 200) =>
        new(StepProgress.Of(global / 100 + 1, global % 100, 100, global, total, 1.0, 1e-3, 64, eta), T0.AddSeconds(-secondsAgo));

    static QueueBoard Build(IEnumerable<RunView> active, Dictionary<Guid, LatestStep>? steps = null, QueueFilter? filter = null, IEnumerable<RunView>? finished = null) =>
        QueueBoard.Build(active, finished ?? [], steps ?? [], filter ?? QueueFilter.All, T0);

    [Fact]
    public void QueuedRuns_AreInTheOrderTheWorkerTakesThem_WithTheirPositions()
    {
        var board = Build([Run(3, RunStatus.Queued, 2), Run(1, RunStatus.Queued, 3), Run(2, RunStatus.Queued, 1)]);
        board.Queued.Select(e => e.Run.Name).ShouldBe(["run 2", "run 3", "run 1"]);
        board.Queued.Select(e => e.Position).ShouldBe([1, 2, 3]);
    }

    [Fact]
    public void TheNextRunsWait_IsWhatIsLeftOfTheRunningRun_AsOfNow()
    {
        var running = Run(1, RunStatus.Running, started: T0.AddMinutes(-5));
        var next = Run(2, RunStatus.Queued, 1);
        // ETA 120 s at a step 20 s ago: 100 s left.
        var board = Build([running, next], new() { [running.Id] = Step(eta: 120, secondsAgo: 20) });
        board.Running.Single().EtaSeconds.ShouldBe(100);
        board.Running.Single().ElapsedSeconds.ShouldBe(300);
        board.Queued.Single().WaitSeconds.ShouldBe(100);
    }

    [Fact]
    public void WaitsSumTheEstimatesAhead_AndBecomeUnknownAfterARunWithNone()
    {
        var running = Run(1, RunStatus.Running, started: T0.AddMinutes(-1));
        // Run 2 was interrupted and waits to resume: its last step's estimate is known. Run 3 is fresh: none.
        var resumed = Run(2, RunStatus.Queued, 1, resumes: 1);
        var fresh = Run(3, RunStatus.Queued, 2);
        var last = Run(4, RunStatus.Queued, 3);
        var board = Build([running, resumed, fresh, last], new()
        {
            [running.Id] = Step(eta: 60),
            // Recorded an hour ago, before the portal stopped: a waiting run's estimate does not run down.
            [resumed.Id] = Step(eta: 40, secondsAgo: 3600),
        });
        board.Queued[0].WaitSeconds.ShouldBe(60);
        board.Queued[1].WaitSeconds.ShouldBe(100);
        board.Queued[2].WaitSeconds.ShouldBeNull("the fresh run ahead has no estimate, so the wait is unknown, not zero");
        board.Queued.Count(e => e.Resumed).ShouldBe(1);
    }

    [Fact]
    public void ARunningRunWithoutAStepYet_HasUnknownEtaAndProgress_AndSoDoesEveryWaitBehindIt()
    {
        var running = Run(1, RunStatus.Running, started: T0.AddSeconds(-10));
        var board = Build([running, Run(2, RunStatus.Queued, 1)]);
        board.Running.Single().EtaSeconds.ShouldBeNull();
        board.Running.Single().Progress.ShouldBeNull();
        board.Queued.Single().WaitSeconds.ShouldBeNull();
    }

    [Fact]
    public void AnEmptyWorker_MeansTheFirstQueuedRunWaitsNothing()
    {
        var board = Build([Run(1, RunStatus.Queued, 1)]);
        board.Queued.Single().WaitSeconds.ShouldBe(0);
    }

    [Fact]
    public void Progress_IsEpochOfEpochsAndStepOfTotal_FromTheLatestStep()
    {
        var running = Run(1, RunStatus.Running, started: T0);
        var board = Build([running], new() { [running.Id] = Step(eta: 30, global: 150, total: 300) });
        var p = board.Running.Single().Progress.ShouldNotBeNull();
        (p.Epoch, p.Epochs, p.GlobalStep, p.TotalSteps).ShouldBe((2, 3, 150, 300));
        p.Fraction.ShouldBe(0.5);
    }

    [Fact]
    public void FinishedRuns_AreNewestFirst_WithTheirDuration_AndNoneForARunCancelledBeforeItStarted()
    {
        var ok = Run(1, RunStatus.Succeeded, started: T0.AddMinutes(-30), finished: T0.AddMinutes(-20));
        var failed = Run(2, RunStatus.Failed, started: T0.AddMinutes(-10), finished: T0.AddMinutes(-9));
        var cancelled = Run(3, RunStatus.Cancelled, finished: T0.AddMinutes(-15));
        var board = Build([], finished: [ok, failed, cancelled]);
        board.Finished.Select(e => e.Run.Status).ShouldBe([RunStatus.Failed, RunStatus.Cancelled, RunStatus.Succeeded]);
        board.Finished.Select(e => e.DurationSeconds).ShouldBe([60, null, 600]);
    }

    [Fact]
    public void Filters_HideRows_ButNotTheRunsAheadFromPositionsAndWaits()
    {
        var running = Run(1, RunStatus.Running, model: "vit", started: T0);
        var other = Run(2, RunStatus.Queued, 1, model: "vit");
        var mine = Run(3, RunStatus.Queued, 2, model: "resnet18.tv_in1k");
        var board = Build([running, other, mine], new() { [running.Id] = Step(eta: 10), [other.Id] = Step(eta: 5) },
            new QueueFilter { ModelId = "resnet18.tv_in1k" });
        board.Running.ShouldBeEmpty();
        var row = board.Queued.ShouldHaveSingleItem();
        row.Position.ShouldBe(2);
        row.WaitSeconds.ShouldBe(15);
    }

    [Fact]
    public void Filters_CombineStatusModelDatasetStrategySweepAndResumed()
    {
        var sweep = Guid.NewGuid();
        var runs = new[]
        {
            Run(1, RunStatus.Queued, 1, dataset: "flowers", sweep: sweep),
            Run(2, RunStatus.Queued, 2, dataset: "digits", sweep: sweep),
            Run(3, RunStatus.Running, strategy: "full-fine-tune", started: T0, resumes: 2),
        };
        Build(runs, filter: new QueueFilter { Statuses = new HashSet<RunStatus> { RunStatus.Running } }).Running.Count.ShouldBe(1);
        Build(runs, filter: new QueueFilter { Statuses = new HashSet<RunStatus> { RunStatus.Running } }).Queued.ShouldBeEmpty();
        Build(runs, filter: new QueueFilter { DatasetId = "flowers" }).Queued.Single().Run.Name.ShouldBe("run 1");
        Build(runs, filter: new QueueFilter { ExperimentId = sweep }).Queued.Count.ShouldBe(2);
        Build(runs, filter: new QueueFilter { ExperimentId = sweep }).Running.ShouldBeEmpty();
        Build(runs, filter: new QueueFilter { Strategy = "full-fine-tune" }).Running.Single().Resumed.ShouldBeTrue();
        var resumed = Build(runs, filter: new QueueFilter { ResumedOnly = true });
        (resumed.Running.Count, resumed.Queued.Count).ShouldBe((1, 0));
    }

    [Fact]
    public void TheFilter_RoundTripsThroughTheQuery()
    {
        var sweep = Guid.Parse("0194a3b0-0000-7000-8000-0000000000ff");
        var f = new QueueFilter
        {
            Statuses = new HashSet<RunStatus> { RunStatus.Running, RunStatus.Queued }, ModelId = "bert.base uncased",
            DatasetId = "digits", Strategy = "partial-fine-tune", ExperimentId = sweep, ResumedOnly = true,
        };
        var q = f.ToQuery();
        q.ShouldBe($"status=queued,running&model=bert.base%20uncased&dataset=digits&strategy=partial-fine-tune&experiment={sweep}&resumed=true");
        var args = q.Split('&').Select(p => p.Split('=')).ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]));
        var back = QueueFilter.Parse(args["status"], args["model"], args["dataset"], args["strategy"], args["experiment"], bool.Parse(args["resumed"])).Filter!;
        back.Statuses.ShouldBe(f.Statuses, ignoreOrder: true);
        (back with { Statuses = f.Statuses }).ShouldBe(f);
        QueueFilter.All.ToQuery().ShouldBeEmpty();
    }

    [Theory]
    [InlineData("done", null)]
    [InlineData("1", null)]
    [InlineData(null, "not-a-guid")]
    public void AnUnknownStatusOrAMalformedSweep_IsAnError_NotAnUnfilteredView(string? status, string? sweep)
    {
        var parsed = QueueFilter.Parse(status, null, null, null, sweep, null);
        parsed.Ok.ShouldBeFalse();
        parsed.Error.ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public void ParsingIgnoresCaseAndBlanks()
    {
        var f = QueueFilter.Parse(" Running ,FAILED", " ", "", null, null, false).Filter!;
        f.Statuses.ShouldBe([RunStatus.Running, RunStatus.Failed], ignoreOrder: true);
        (f.ModelId, f.DatasetId, f.ResumedOnly).ShouldBe((null, null, false));
    }

    [Fact]
    public void ASnapshotTakesANewerStep_IgnoresAnOlderOne_AndRunsItDoesNotHold()
    {
        var running = Run(1, RunStatus.Running, started: T0);
        var snap = new QueueSnapshot([running], [], new Dictionary<Guid, LatestStep> { [running.Id] = Step(eta: 50, secondsAgo: 5) });
        snap.WithStep(running.Id, Step(eta: 40)).Board(QueueFilter.All, T0).Running.Single().EtaSeconds.ShouldBe(40);
        snap.WithStep(running.Id, Step(eta: 99, secondsAgo: 10)).ShouldBeSameAs(snap);
        snap.WithStep(Guid.NewGuid(), Step(eta: 1)).ShouldBeSameAs(snap);
    }
}
