using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;
using MudBlazor.Services;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The run page against the real run store (see <see cref="ComponentHost"/>).</summary>
public class RunPageTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    BunitContext _ctx = default!;
    RunService _runs = default!;
    RunEventRecorder _recorder = default!;
    Guid _id;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        _ctx = _host.Ctx;
        _runs = _host.Get<RunService>();
        _recorder = _host.Get<RunEventRecorder>();
        _id = (await _runs.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Name = "digits probe",
            HyperParameters = new HyperParameters { Epochs = 2 } })).RunId!.Value;
    }

    Task Record(RunEventKind kind, object payload) => _recorder.RecordAsync(_id, kind, payload);

    [Fact]
    public async Task ShowsHistory_ThenLiveSteps_ThenResultsAndTheCard()
    {
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CPU (2 threads)"));
        await Record(RunEventKind.Step, StepProgress.Of(1, 1, 2, 1, 4, 2.25, 1e-3, 120, 30));

        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, _id));
        page.Find("[data-testid=device]").TextContent.ShouldBe("CPU (2 threads)");
        page.Find("[data-testid=step] .stat-value").TextContent.ShouldBe("1 / 4");
        page.Find("[data-testid=status]").TextContent.ShouldContain("Running");
        page.FindAll("[data-testid=cancel]").Count.ShouldBe(1);

        // Live: a new step and an epoch arrive through the notifier, with no reload.
        await Record(RunEventKind.Step, StepProgress.Of(1, 2, 2, 2, 4, 1.5, 1e-3, 150, 20));
        await Record(RunEventKind.Epoch, EpochMetrics.Of(1, 2, 1.8, 0.55, 1.6, 0.62, 4));
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=step] .stat-value").TextContent.ShouldBe("2 / 4");
            page.Find("[data-testid=loss] .stat-value").TextContent.ShouldBe("1.5000");
            page.Find("[data-testid=throughput] .stat-value").TextContent.ShouldBe("150 examples/s");
            page.Find("[data-testid=eta] .stat-value").TextContent.ShouldBe("20s");
            // Plotly draws in the browser; the chart's element says what it was given.
            page.Find("[data-testid=acc-chart]").GetAttribute("data-points").ShouldBe("2");
            page.Find("[data-testid=loss-chart]").GetAttribute("data-points").ShouldBe("3");
        }, TimeSpan.FromSeconds(5));

        // The worker stores result and card, then the final status event; the page shows both.
        var dbs = _ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var r = await db.Runs.FirstAsync(x => x.Id == _id);
            r.Status = RunStatus.Succeeded;
            r.ResultJson = RunJson.Write(new RunResult { TestAccuracy = 0.9125, TestExamples = 6, ClassNames = ["a", "b"], ConfusionMatrix = [[3, 0], [1, 2]] });
            r.CardMarkdown = "# Card title\n\nRaw <script>alert(1)</script> stays text.";
            await db.SaveChangesAsync();
        }
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=results]").TextContent.ShouldContain("91.25 %");
            page.Find("[data-testid=card] h1").TextContent.ShouldBe("Card title");
            page.Find("[data-testid=card]").InnerHtml.ShouldNotContain("<script>");
            page.Find("[data-testid=card]").InnerHtml.ShouldContain("&lt;script&gt;");
            page.Find("[data-testid=download-card]").GetAttribute("href").ShouldBe($"/api/runs/{_id}/card.md");
            page.FindAll("[data-testid=cancel]").ShouldBeEmpty();
            page.FindAll("[data-testid=confusion] tbody tr").Count.ShouldBe(2);
        }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ASucceededRun_OffersItsTrainedWeights_WithTheirSize_WhileARunningOneDoesNot()
    {
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Running, "Training", "CPU (2 threads)"));
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, _id));
        page.Find("[data-testid=status]").TextContent.ShouldContain("Running");
        page.FindAll("[data-testid=download-weights]").ShouldBeEmpty();
        page.FindAll("[data-testid=download-onnx]").ShouldBeEmpty();

        var sha256 = new string('d', 64);
        var dbs = _ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var r = await db.Runs.FirstAsync(x => x.Id == _id);
            r.Status = RunStatus.Succeeded;
            r.ResultJson = RunJson.Write(new RunResult { TestAccuracy = 0.75, TestExamples = 4, ClassNames = ["a", "b"], ConfusionMatrix = [[2, 0], [1, 1]],
                TrainedWeights = new TrainedWeights($"run-{_id:N}.safetensors", sha256, 44_800_123) });
            await db.SaveChangesAsync();
        }
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        page.WaitForAssertion(() =>
        {
            var download = page.Find("a[data-testid=download-weights]");
            download.GetAttribute("href").ShouldBe($"/api/runs/{_id}/weights.safetensors");
            download.TextContent.ShouldContain("Download weights (safetensors)");
            var onnx = page.Find("a[data-testid=download-onnx]");
            onnx.GetAttribute("href").ShouldBe($"/api/runs/{_id}/model.onnx");
            onnx.TextContent.ShouldContain("Download model (ONNX)");
            page.Find("[data-testid=weights-file]").TextContent.ShouldContain("42.7 MiB");
            page.Find("[data-testid=weights-file]").TextContent.ShouldContain(sha256);
        }, TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData(0.9, false)]
    [InlineData(0.5, true)]
    public async Task Results_ShowTheMajorityClassBaseline_AndWarnWhenTheModelDoesNotBeatIt(double accuracy, bool warned)
    {
        var dbs = _ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using (var db = await dbs.CreateDbContextAsync())
        {
            var r = await db.Runs.FirstAsync(x => x.Id == _id);
            r.Status = RunStatus.Succeeded;
            // 6 of the 10 test examples are 'b': always answering 'b' scores 60 %.
            r.ResultJson = RunJson.Write(new RunResult { TestAccuracy = accuracy, TestExamples = 10, ClassNames = ["a", "b"], ConfusionMatrix = [[2, 2], [1, 5]] });
            await db.SaveChangesAsync();
        }
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Succeeded, "done"));
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, _id));
        page.WaitForAssertion(() => page.Find("[data-testid=majority-baseline]").TextContent.ShouldContain("60.00 % (always 'b')"), TimeSpan.FromSeconds(5));
        page.FindAll("[data-testid=below-majority]").Count.ShouldBe(warned ? 1 : 0);
    }

    [Fact]
    public async Task FailedRun_ShowsItsReason()
    {
        var dbs = _ctx.Services.GetRequiredService<IDbContextFactory<ZooDbContext>>();
        await using (var db = await dbs.CreateDbContextAsync())
            await db.Runs.Where(r => r.Id == _id).ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, RunStatus.Failed)
                .SetProperty(r => r.Error, "The loss became NaN at epoch 1, step 3."));
        await Record(RunEventKind.Status, new StatusChange(RunStatus.Failed, "The loss became NaN at epoch 1, step 3."));
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, _id));
        page.Find("[data-testid=error]").TextContent.ShouldContain("NaN at epoch 1, step 3");
        page.FindAll("[data-testid=download-weights]").ShouldBeEmpty();
    }

    [Fact]
    public void UnknownRun_SaysSo()
    {
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, Guid.NewGuid()));
        page.WaitForAssertion(() => page.Markup.ShouldContain("does not exist"));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>A strategy without training has no curves to wait for; its page says why instead.</summary>
    [Fact]
    public async Task ARunWithoutTraining_ShowsNoEmptyCurves()
    {
        var id = (await _runs.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "few-shot-prototypes",
            Options = new System.Text.Json.Nodes.JsonObject { ["shots"] = 1 } })).RunId!.Value;
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, id));
        page.Find("[data-testid=no-training]").TextContent.ShouldContain("takes no gradient steps");
        page.FindAll("[data-testid=loss-chart]").ShouldBeEmpty();
        page.FindAll("[data-testid=step]").ShouldBeEmpty();
        var trained = _ctx.Render<RunPage>(p => p.Add(x => x.Id, _id));
        trained.FindAll("[data-testid=loss-chart]").ShouldNotBeEmpty();
        trained.FindAll("[data-testid=lr-chart]").ShouldNotBeEmpty();
    }

    /// <summary>A strategy's own values (declared in its description) get charts of their own, labelled from the
    /// description, with no code for them in the page.</summary>
    [Fact]
    public async Task AStrategysOwnValues_GetChartsFromItsDescription()
    {
        var labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray();
        _host.Get<DatasetStore>().Write(
            new DatasetInfo { Id = "tiny-target", Title = "Tiny target", ClassNames = ["a", "b"], Examples = 20, Width = 2, Height = 2, Channels = 1 },
            new ImageSet { Width = 2, Height = 2, Channels = 1, Pixels = new byte[80], Labels = labels, ClassNames = ["a", "b"] },
            StratifiedSplitter.Split(labels, 1));
        var launch = await _runs.LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny", TargetDatasetId = "tiny-target", Strategy = "dann" });
        launch.Errors.ShouldBeEmpty();
        var id = launch.RunId!.Value;
        var page = _ctx.Render<RunPage>(p => p.Add(x => x.Id, id));
        page.FindAll("[data-testid=metric-domain_loss]").ShouldBeEmpty("nothing reported yet");
        await _recorder.RecordAsync(id, RunEventKind.Step, StepProgress.Of(1, 1, 2, 1, 2, 0.9, 1e-3, 50, 1, 0.1,
            new Dictionary<string, double> { ["domain_loss"] = 0.69, ["lambda"] = 0.05 }));
        await _recorder.RecordAsync(id, RunEventKind.Step, StepProgress.Of(1, 2, 2, 2, 2, 0.8, 1e-3, 50, 0, 0.2,
            new Dictionary<string, double> { ["domain_loss"] = 0.65, ["lambda"] = 0.1 }));
        page.WaitForAssertion(() =>
        {
            page.Find("[data-testid=metric-domain_loss] figcaption").TextContent.ShouldBe(
                ModelZoo.Core.Strategies.DannOptions.Info.Metrics.Single(m => m.Name == "domain_loss").Label);
            page.Find("[data-testid=metric-lambda]").GetAttribute("data-points").ShouldBe("2");
        });
        page.Find("[data-testid=strategy]").TextContent.ShouldBe(ModelZoo.Core.Strategies.DannOptions.Info.Title);
    }
}
