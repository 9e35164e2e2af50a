using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Runs.Tasks;
using ModelZoo.Web.Tests.Components;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The run page and new-run pickers for runs with several tasks, against the real run store.</summary>
public class RunPageTasksTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    RunService _runs = default!;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        _runs = _host.Get<RunService>();
        var labels = Enumerable.Range(0, 30).Select(i => i % 3).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "tiny3", Title = "Tiny three", ClassNames = ["x", "y", "z"], Examples = 30, Width = 2, Height = 2, Channels = 1 },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = new byte[120], Labels = labels, ClassNames = ["x", "y", "z"] },
            StratifiedSplitter.Split(labels, 1));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    async Task<Guid> Launch(RunRequest request)
    {
        var launch = await _runs.LaunchAsync(request);
        launch.Errors.ShouldBeEmpty();
        return launch.RunId!.Value;
    }

    async Task Finish(Guid id, RunResult result)
    {
        var dbs = _host.Get<IDbContextFactory<ZooDbContext>>();
        await using var db = await dbs.CreateDbContextAsync();
        var r = await db.Runs.FirstAsync(x => x.Id == id);
        r.Status = RunStatus.Succeeded;
        r.FinishedAt = DateTimeOffset.UtcNow;
        r.ResultJson = RunJson.Write(result);
        await db.SaveChangesAsync();
    }

    // The first render of a page with charts takes seconds on a busy 2-core machine; events then arrive at once.
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    static HyperParameters Settings => new() { Epochs = 2, Seed = 7 };

    [Fact]
    public async Task AStoredResultWithTasks_ShowsTheTaskTable_BesideASingleTaskRunOfTheSameModelBudgetAndSeed()
    {
        // A single-task run on task 2's dataset with the same model, budget and seed; another with another seed is not its peer.
        var peer = await Launch(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny3", Strategy = "full-fine-tune", HyperParameters = Settings });
        await Finish(peer, new RunResult { TestAccuracy = 0.5, ClassNames = ["x", "y", "z"] });
        var otherSeed = await Launch(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "full-fine-tune", HyperParameters = Settings with { Seed = 8 } });
        await Finish(otherSeed, new RunResult { TestAccuracy = 0.99, ClassNames = ["a", "b"] });

        var id = await Launch(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "multitask", TaskDatasetIds = ["tiny3"], HyperParameters = Settings });
        await Finish(id, new RunResult
        {
            TestAccuracy = 0.75, TestExamples = 6, ClassNames = ["a", "b"], ConfusionMatrix = [[3, 0], [1, 2]],
            Tasks =
            [
                new TaskResult("tiny", 0.75, 0.7333, 6, 12, ["a", "b"]) { ValAccuracy = 0.8 },
                new TaskResult("tiny3", 0.625, 0.6, 8, 18, ["x", "y", "z"]) { ValAccuracy = 0.5 },
            ],
        });

        var page = _host.Ctx.Render<RunPage>(p => p.Add(x => x.Id, id));
        page.Find("[data-testid=run-tasks]").TextContent.ShouldContain("tiny3");
        var row1 = page.Find("[data-testid=task-row-1]").TextContent;
        row1.ShouldContain("tiny");
        row1.ShouldContain("75.00 %");
        row1.ShouldContain("80.00 %");
        page.Find("[data-testid=task-row-1] [data-testid=task-single]").TextContent.ShouldBe("none", "the run on 'tiny' has another seed");
        var row2 = page.Find("[data-testid=task-row-2]");
        row2.TextContent.ShouldContain("62.50 %");
        row2.QuerySelector("[data-testid=task-single]")!.TextContent.ShouldContain("50.00 %");
        row2.QuerySelector("[data-testid=task-single] a")!.GetAttribute("href").ShouldBe($"/runs/{peer}");
        row2.QuerySelector("[data-testid=task-diff]")!.TextContent.Trim().ShouldBe("+12.50 points");
        page.FindAll("[data-testid=task-matrix]").ShouldBeEmpty("multitask reports no accuracy matrix");
    }

    [Fact]
    public async Task ASingleTaskRun_ShowsNoTaskTable()
    {
        var id = await Launch(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", HyperParameters = Settings });
        await Finish(id, new RunResult { TestAccuracy = 0.75, TestExamples = 6, ClassNames = ["a", "b"], ConfusionMatrix = [[3, 0], [1, 2]] });
        var page = _host.Ctx.Render<RunPage>(p => p.Add(x => x.Id, id));
        page.Find("[data-testid=results]");
        page.FindAll("[data-testid=tasks]").ShouldBeEmpty();
        page.FindAll("[data-testid=task-matrix]").ShouldBeEmpty();
    }

    [Fact]
    public async Task PerTaskValues_GetCharts_AndAccTValues_FillTheMatrixLive_ThenTheStoredMatrixReplacesIt()
    {
        var id = await Launch(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "multitask", TaskDatasetIds = ["tiny3"], HyperParameters = Settings });
        var recorder = _host.Get<RunEventRecorder>();
        var page = _host.Ctx.Render<RunPage>(p => p.Add(x => x.Id, id));
        await recorder.RecordAsync(id, RunEventKind.Step, StepProgress.Of(1, 1, 1, 1, 2, 0.9, 1e-3, 50, 1, 0.1));
        await recorder.RecordAsync(id, RunEventKind.Epoch, EpochMetrics.Of(1, 2, 1, 0.5, 1, 0.6, 1,
            new Dictionary<string, double> { ["task1_val_acc"] = 0.6, ["task2_val_acc"] = 0.4, ["acc_t1"] = 0.9 }));
        page.WaitForAssertion(() =>
        {
            // The multitask strategy declares task{i}_val_acc: its curves get charts from the description.
            page.Find("[data-testid=metric-task2_val_acc]").GetAttribute("data-points").ShouldBe("1");
            page.Find("[data-testid=matrix-cell-1-1]").TextContent.ShouldBe("90.00 %");
            page.Find("[data-testid=matrix-cell-1-2]").TextContent.ShouldBe("");
        }, Wait);
        await recorder.RecordAsync(id, RunEventKind.Step, StepProgress.Of(2, 1, 1, 2, 2, 0.8, 1e-3, 50, 0, 0.2));
        await recorder.RecordAsync(id, RunEventKind.Epoch, EpochMetrics.Of(2, 2, 1, 0.5, 1, 0.6, 1,
            new Dictionary<string, double> { ["acc_t1"] = 0.7, ["acc_t2"] = 0.8 }));
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=matrix-cell-2-2]").TextContent.ShouldBe("80.00 %");
            var summary = page.Find("[data-testid=task-matrix-summary]").TextContent;
            summary.ShouldContain("20.00 points");
            summary.ShouldContain("75.00 %");
        }, Wait);

        // The finished run's stored matrix is the one shown.
        await Finish(id, new RunResult
        {
            TestAccuracy = 0.7, ClassNames = ["a", "b"], ConfusionMatrix = [[1, 0], [0, 1]],
            TaskMatrix = new AccuracyMatrix(["tiny", "tiny3"], [[0.95, null], [0.85, 0.6]]),
        });
        await recorder.RecordAsync(id, RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        page.WaitForAssertion(() => page.Find("[data-testid=matrix-cell-1-1]").TextContent.ShouldBe("95.00 %"), Wait);
    }

    [Fact]
    public void TheOrderedPicker_AddsMovesAndRemovesDatasets_InPlace()
    {
        var selected = new List<string> { "b", "c" };
        var changes = 0;
        var picker = _host.Ctx.Render<TaskDatasetsPicker>(p => p
            .Add(x => x.Role, new ModelZoo.Core.Strategies.TaskDatasetsRole(1, 3, "Later tasks", "Learnt in order.", Ordered: true))
            .Add(x => x.Candidates, new[] { "b", "c", "d" }.Select(i => new DatasetInfo { Id = i, Title = i.ToUpperInvariant(), ClassNames = ["p", "q"] }).ToList())
            .Add(x => x.Selected, selected)
            .Add(x => x.Error, "Pick at least one.")
            .Add(x => x.Changed, () => changes++));
        picker.Find("[data-testid=task-datasets-error]").TextContent.ShouldBe("Pick at least one.");
        picker.Find("[data-testid=task-down-b]").Click();
        selected.ShouldBe(["c", "b"]);
        picker.Find("[data-testid=task-remove-c]").Click();
        selected.ShouldBe(["b"]);
        changes.ShouldBe(2);
    }
}

/// <summary>The new-run form offers the task-dataset picker only for a strategy whose description has the role, and
/// shows the launch check's message under it.</summary>
public class NewRunTaskPickerTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    public async Task InitializeAsync() => _host = await ComponentHost.CreateAsync();
    public async Task DisposeAsync() => await _host.DisposeAsync();

    IRenderedComponent<NewRunPage> RenderWith(string strategy)
    {
        var nav = _host.Ctx.Services.GetRequiredService<Bunit.TestDoubles.BunitNavigationManager>();
        nav.NavigateTo(nav.GetUriWithQueryParameters(new Dictionary<string, object?> { ["model"] = "resnet18.tv_in1k", ["strategy"] = strategy }));
        return _host.Ctx.Render<NewRunPage>();
    }

    [Fact]
    public async Task Multitask_ShowsThePicker_WithoutTheRunsOwnDataset_AndItsErrorUnderIt()
    {
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "notes", Title = "Notes", ClassNames = ["a", "b"], License = "CC0-1.0", Provenance = "written by the test" },
            new TextSet { Texts = Enumerable.Range(0, 20).Select(i => $"note {i}").ToList(), Labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray(), ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(Enumerable.Range(0, 20).Select(i => i % 2).ToArray(), 3));
        RenderWith("feature-extraction").FindAll("[data-testid=task-datasets]").ShouldBeEmpty("a single-task strategy takes no further datasets");

        var page = RenderWith("multitask");
        page.Find("[data-testid=task-datasets]").TextContent.ShouldContain(ModelZoo.Core.Strategies.MultitaskOptions.Info.TaskDatasets!.Label);
        // The only other dataset is text, which an image model cannot read: nothing to add.
        page.Find("[data-testid=task-datasets-none]");
        page.Find("button[data-testid=launch]").Click();
        page.WaitForAssertion(() => page.Find("[data-testid=task-datasets-error]").TextContent.ShouldContain("needs 2 to 4 datasets, one per task"),
            TimeSpan.FromSeconds(20));
        (await _host.Get<RunService>().ListAsync()).ShouldBeEmpty();
    }
}
