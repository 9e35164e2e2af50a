using ModelZoo.Core.Runs;
using ModelZoo.Core.Runs.Compare;

namespace ModelZoo.Core.Tests.Runs.Compare;

public class TaskComparisonTests
{
    static RunView Run(string dataset, string model = "m", int seed = 1, int? budget = 10, RunStatus status = RunStatus.Succeeded,
        IReadOnlyList<string>? tasks = null, double acc = 0.5, DateTimeOffset? finished = null, string? target = null) => new()
    {
        Id = Guid.NewGuid(), ModelId = model, DatasetId = dataset, Status = status, Strategy = "full-fine-tune", TargetDatasetId = target,
        FinishedAt = finished ?? DateTimeOffset.Parse("2026-12-01T00:00:00Z"),
        Request = new RunRequest { ModelId = model, DatasetId = dataset, TaskDatasetIds = tasks,
            HyperParameters = new HyperParameters { Seed = seed, LabelsPerClass = budget } },
        Result = status == RunStatus.Succeeded
            ? new RunResult { TestAccuracy = acc, Tasks = tasks is null ? [] : [new TaskResult(dataset, acc, acc, 1, 1, ["a"])] } : null,
    };

    [Fact]
    public void Peers_AreSucceededSingleTaskRuns_OfTheSameModelBudgetAndSeed_TheMostRecentPerDataset()
    {
        var multi = Run("a", tasks: ["b"]);
        var older = Run("a", acc: 0.9, finished: DateTimeOffset.Parse("2026-11-01T00:00:00Z"));
        var newer = Run("a", acc: 0.6);
        var candidates = new[]
        {
            older, newer,
            Run("b", seed: 2, acc: 0.1),                   // another seed
            Run("b", budget: null, acc: 0.1),              // another budget
            Run("b", model: "other", acc: 0.1),            // another model
            Run("b", status: RunStatus.Failed),            // did not succeed
            Run("b", tasks: ["a"], acc: 0.1),              // itself multi-task
            Run("b", target: "c", acc: 0.1),               // adapted to a target: tested on another split
            multi,
        };
        var peers = TaskComparison.Peers(multi, candidates);
        peers.Keys.ShouldBe(["a"]);
        peers["a"].RunId.ShouldBe(newer.Id);
        peers["a"].TestAccuracy.ShouldBe(0.6);
    }

    [Fact]
    public void Rows_GiveTheDifferenceToThePeer_AndNoneWithout()
    {
        var result = new RunResult { Tasks = [new TaskResult("a", 0.8, 0.8, 1, 1, ["x"]), new TaskResult("b", 0.7, 0.7, 1, 1, ["y"])] };
        var rows = TaskComparison.Rows(result, new Dictionary<string, SingleTaskPeer> { ["a"] = new(Guid.NewGuid(), "s", 0.75, 0.7) });
        rows[0].Index.ShouldBe(1);
        rows[0].Difference!.Value.ShouldBe(0.05, 1e-12);
        rows[1].Single.ShouldBeNull();
        rows[1].Difference.ShouldBeNull();
    }

    [Fact]
    public void FromCurves_BuildsOneRowPerEpochWhereATaskEnded_BlankWhereNotMeasured()
    {
        var curves = new RunCurves();
        long seq = 0;
        void Epoch(int e, Dictionary<string, double> values) =>
            curves.Apply(new RunEvent { Seq = ++seq, Kind = RunEventKind.Epoch, Epoch = EpochMetrics.Of(e, 6, 1, 0.5, 1, 0.5, 1, values) });
        TaskComparison.FromCurves(curves, ["a", "b", "c"]).ShouldBeNull();
        Epoch(1, []);                                         // mid-task: no acc_t values
        Epoch(2, new() { ["acc_t1"] = 0.9 });
        Epoch(4, new() { ["acc_t1"] = 0.7, ["acc_t2"] = 0.8 });
        var m = TaskComparison.FromCurves(curves, ["a", "b", "c"])!;
        m.Accuracy.Count.ShouldBe(2);
        m.Accuracy[0].ShouldBe([0.9, null, null]);
        m.Accuracy[1].ShouldBe([0.7, 0.8, null]);
        m.AverageForgetting!.Value.ShouldBe(0.2, 1e-12);
        m.FinalAverage.ShouldBeNull(); // task 3 not learnt yet
    }
}

public class ComparisonTasksColumnTests
{
    static RunView View(string dataset, IReadOnlyList<TaskResult> tasks) => new()
    {
        Id = Guid.NewGuid(), Name = dataset, ModelId = "m", DatasetId = dataset, Strategy = "multitask", Status = RunStatus.Succeeded,
        Request = new RunRequest(), Result = new RunResult { TestAccuracy = 0.5, Tasks = tasks },
    };

    [Fact]
    public void ATasksColumn_AppearsOnlyWithARunOfSeveralTasks_WithEachTasksTestAccuracy()
    {
        var single = View("a", []);
        var plain = RunComparison.Build([(single, new RunCurves())]);
        plain.HasTasks.ShouldBeFalse();
        ComparisonExport.Table(plain).Headers.ShouldNotContain("task_test_acc");

        var multi = View("a", [new TaskResult("a", 0.5, 0.5, 1, 1, ["x"]), new TaskResult("b", 0.875, 0.8, 1, 1, ["y"])]);
        var table = RunComparison.Build([(single, new RunCurves()), (multi, new RunCurves())]);
        table.HasTasks.ShouldBeTrue();
        table.Rows[1].Tasks.ShouldBe([new TaskAccuracy("a", 0.5), new TaskAccuracy("b", 0.875)]);
        var (headers, cells) = ComparisonExport.Table(table);
        var col = headers.ToList().IndexOf("task_test_acc");
        col.ShouldBeGreaterThan(0);
        cells[0][col].ShouldBe("");
        cells[1][col].ShouldBe("a=0.5;b=0.875");
    }
}

public class ComparisonTeacherColumnsTests
{
    [Fact]
    public void TeacherColumns_AppearOnlyWithADistilledRun_WithWhatTheRunMeasured()
    {
        RunView View(TeacherComparison? teacher) => new()
        {
            Id = Guid.NewGuid(), Name = "r", ModelId = "student", DatasetId = "d", Strategy = teacher is null ? "full-fine-tune" : "distillation",
            Status = RunStatus.Succeeded, Request = new RunRequest(), Result = new RunResult { TestAccuracy = 0.9, Teacher = teacher },
        };
        var plain = RunComparison.Build([(View(null), new RunCurves())]);
        plain.HasTeacher.ShouldBeFalse();
        ComparisonExport.Table(plain).Headers.ShouldNotContain("teacher_test_acc");

        var teacherRun = Guid.NewGuid();
        var distilled = View(new TeacherComparison
        {
            TeacherRunId = teacherRun, TeacherModelId = "big", TeacherTestAccuracy = 0.925, TeacherParameters = 11_000_000,
            StudentParameters = 2_000_000, TeacherWeightsBytes = 44_000_000, StudentTensorBytes = 8_000_000,
            TeacherLatencyMs = 12.5, StudentLatencyMs = 3.25, Agreement = 0.95,
        });
        var table = RunComparison.Build([(View(null), new RunCurves()), (distilled, new RunCurves())]);
        table.HasTeacher.ShouldBeTrue();
        var (headers, cells) = ComparisonExport.Table(table);
        string Cell(int row, string header) => cells[row][headers.ToList().IndexOf(header)];
        (Cell(1, "teacher_run_id"), Cell(1, "teacher_model"), Cell(1, "teacher_test_acc"), Cell(1, "teacher_latency_ms"), Cell(1, "student_latency_ms"))
            .ShouldBe((teacherRun.ToString(), "big", "0.925", "12.5", "3.25"));
        Cell(0, "teacher_model").ShouldBe("", "a run without a teacher leaves the columns empty");
        cells.ShouldAllBe(r => r.Count == headers.Count);
    }
}
