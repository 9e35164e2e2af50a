using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;

namespace ModelZoo.Core.Tests.Runs.Compare;

public class RunComparisonTests
{
    static readonly Guid A = Guid.Parse("0194a3b0-0000-7000-8000-00000000000a");
    static readonly Guid B = Guid.Parse("0194a3b0-0000-7000-8000-00000000000b");

    /// <summary>A run's recorded stream: two steps per epoch, then the epoch's values.</summary>
    static List<RunEvent> History(Guid id, params (double ValAcc, double ValLoss)[] epochs)
    {
        var events = new List<RunEvent>();
        long seq = 0;
        void Add(RunEventKind kind, StepProgress? s = null, EpochMetrics? e = null, StatusChange? st = null) =>
            events.Add(new RunEvent { RunId = id, Seq = ++seq, Kind = kind, Step = s, Epoch = e, Status = st });
        Add(RunEventKind.Status, st: new StatusChange(RunStatus.Running));
        for (var i = 1; i <= epochs.Length; i++)
        {
            Add(RunEventKind.Step, s: StepProgress.Of(i, 1, 2, 2 * i - 1, 2 * epochs.Length, 2.0 / i, 1e-3, 100, null, elapsed: 10 * i - 5));
            Add(RunEventKind.Step, s: StepProgress.Of(i, 2, 2, 2 * i, 2 * epochs.Length, 1.5 / i, 1e-3, 100, null, elapsed: 10 * i));
            Add(RunEventKind.Epoch, e: EpochMetrics.Of(i, epochs.Length, 1.0 / i, double.NaN, epochs[i - 1].ValLoss, epochs[i - 1].ValAcc, 10));
        }
        return events;
    }

    static RunView View(Guid id, string? name, RunResult? result = null, JsonObject? options = null, int? budget = null) => new()
    {
        Id = id, Name = name, ModelId = "resnet18.tv_in1k", DatasetId = "digits", Strategy = "partial-fine-tune",
        Status = result is null ? RunStatus.Running : RunStatus.Succeeded,
        Request = new RunRequest { Options = options, HyperParameters = new HyperParameters { Seed = 7, LabelsPerClass = budget } },
        Result = result,
    };

    [Fact]
    public void Metric_BestIsHighestAccuracyAndLowestLoss_WithTheFirstEpochThatReachedIt()
    {
        var curves = RunCurves.From(History(A, (0.60, 1.2), (0.80, 0.7), (0.80, 0.9), (0.75, 0.8)));
        var acc = MetricSummary.Of(MetricNames.ValAccuracy, curves.EpochSeries(MetricNames.ValAccuracy));
        acc.Best.ShouldBe(0.80);
        acc.BestEpoch.ShouldBe(2, "a tie keeps the earlier epoch, as the trainer's best-epoch selection does");
        acc.Last.ShouldBe(0.75);
        var loss = MetricSummary.Of(MetricNames.ValLoss, curves.EpochSeries(MetricNames.ValLoss));
        loss.Best.ShouldBe(0.7);
        loss.BestEpoch.ShouldBe(2);
        loss.Last.ShouldBe(0.8);
    }

    [Fact]
    public void Metric_IgnoresValuesAnEpochCouldNotMeasure()
    {
        var curves = RunCurves.From(History(A, (0.5, 1.0), (0.6, 0.9)));
        var trainAcc = MetricSummary.Of(MetricNames.TrainAccuracy, curves.EpochSeries(MetricNames.TrainAccuracy));
        trainAcc.Best.ShouldBeNull();
        trainAcc.BestEpoch.ShouldBeNull();
        trainAcc.Last.ShouldBeNull();
    }

    [Fact]
    public void Curves_GiveEveryPointItsStepEpochAndWallTime_AndDropDuplicateEvents()
    {
        var history = History(A, (0.5, 1.0), (0.6, 0.9));
        var curves = RunCurves.From(history.Concat(history.Skip(3))); // history, then live events that overlap it
        var loss = curves.StepSeries(MetricNames.Loss);
        loss.Count.ShouldBe(4);
        loss[2].ShouldBe(new CurvePoint(Step: 3, Epoch: 1.5, Elapsed: 15, Value: 1.0));
        loss[2].X(CurveAxis.Epoch).ShouldBe(1.5);
        loss[2].X(CurveAxis.WallTime).ShouldBe(15);
        var val = curves.EpochSeries(MetricNames.ValAccuracy);
        val.Count.ShouldBe(2);
        val[1].ShouldBe(new CurvePoint(Step: 4, Epoch: 2, Elapsed: 20, Value: 0.6), "an epoch's values sit at the end of its last step");
    }

    [Fact]
    public void Table_TakesRecordedFacts_AndTheLiveWallTimeOfARunningRun()
    {
        var finished = View(A, "partial", new RunResult
        {
            TestAccuracy = 0.9, TrainSeconds = 42.5, TrainableParameters = 1000, TotalParameters = 11_000,
            StrategyFacts = [new StrategyFact("Frozen stages", "stem, layer1 (depth 2 of 4; BatchNorm in inference mode)")],
        }, budget: 10);
        var running = View(B, null, options: new JsonObject { ["frozenStages"] = 3 });
        var table = RunComparison.Build([(finished, RunCurves.From(History(A, (0.5, 1.0)))), (running, RunCurves.From(History(B, (0.4, 1.1), (0.45, 1.0))))]);

        table.Metrics.ShouldBe([MetricNames.ValAccuracy, MetricNames.ValLoss, MetricNames.TrainAccuracy, MetricNames.TrainLoss]);
        var a = table.Rows[0];
        a.WallSeconds.ShouldBe(42.5);
        a.FrozenStages.ShouldBe("stem, layer1 (depth 2 of 4; BatchNorm in inference mode)");
        a.LabelsPerClass.ShouldBe(10);
        a.Seed.ShouldBe(7);
        a.TrainableParameters.ShouldBe(1000);
        var b = table.Rows[1];
        b.Name.ShouldBe("resnet18.tv_in1k on digits");
        b.WallSeconds.ShouldBe(20, "a running run has no result yet: its latest step's elapsed time");
        b.FrozenStages.ShouldBe("3");
        b.TestAccuracy.ShouldBeNull();
        b.Metric(MetricNames.ValAccuracy).Last.ShouldBe(0.45);
    }

    [Fact]
    public void Csv_QuotesCommasQuotesAndLineBreaks_AndDefusesFormulas()
    {
        var table = RunComparison.Build([
            (View(A, "lr 1e-3, \"warm\"\nsecond line", new RunResult { TestAccuracy = 0.875 }), RunCurves.From(History(A, (0.5, 1.0)))),
            (View(B, "=HYPERLINK(\"x\")"), RunCurves.From([])),
        ]);
        var csv = ComparisonExport.Csv(table);
        var lines = csv.Split("\r\n");
        lines[0].ShouldStartWith("run_id,name,model,dataset,strategy,status,seed,labels_per_class,frozen_stages,trainable_params,total_params,wall_seconds,test_acc,val_acc_best,val_acc_best_epoch,val_acc_last");
        csv.ShouldContain($"{A},\"lr 1e-3, \"\"warm\"\"\nsecond line\",resnet18.tv_in1k,digits,partial-fine-tune,Succeeded,7,,,0,0,10,0.875,0.5,1,0.5,");
        csv.ShouldContain($"{B},\"'=HYPERLINK(\"\"x\"\")\",");
        ComparisonExport.CsvCell("-0.5").ShouldBe("-0.5", "numbers keep their sign");
        ComparisonExport.CsvCell("@sum").ShouldBe("'@sum");
    }

    [Fact]
    public void Markdown_IsOneRowPerRun_WithPipesEscapedAndLineBreaksFlattened()
    {
        var table = RunComparison.Build([
            (View(A, "a | b\nc", new RunResult { TestAccuracy = 0.5 }), RunCurves.From(History(A, (0.5, 1.0)))),
            (View(B, "plain"), RunCurves.From(History(B, (0.25, 2.0)))),
        ]);
        var lines = ComparisonExport.Markdown(table).TrimEnd('\n').Split('\n');
        lines.Length.ShouldBe(4);
        lines[0].ShouldStartWith("| run_id | name | model |");
        lines[1].ShouldStartWith("| --- | --- |");
        lines[2].ShouldContain("| a \\| b c |");
        lines[3].ShouldContain("| plain |");
        // Every row has as many cells as the header (escaped pipes do not count).
        lines.Select(l => l.Replace("\\|", "").Count(ch => ch == '|')).Distinct().Count().ShouldBe(1);
    }

    [Theory]
    [InlineData(null, "Choose runs")]
    [InlineData("abc", "Not a run id: abc")]
    public void Ids_AreRefusedWithAMessage_WhenEmptyOrMalformed(string? ids, string message) =>
        CompareIds.Parse(ids).Error.ShouldNotBeNull().ShouldContain(message);

    [Fact]
    public void Ids_AreCappedAtFifty_AndDeduplicatedInOrder()
    {
        var many = Enumerable.Range(0, 51).Select(_ => Guid.NewGuid()).ToList();
        CompareIds.Parse(string.Join(",", many)).Error.ShouldNotBeNull().ShouldContain("at most 50");
        var two = CompareIds.Parse($"{B}, {A},{B}");
        two.Ok.ShouldBeTrue();
        two.Ids.ShouldBe([B, A]);
    }
}
