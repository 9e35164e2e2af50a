using System.Text.Json.Nodes;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Predict;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Components.Shared;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;
using static TorchSharp.torch;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The run page's "Where it goes wrong" panel on a succeeded run whose weights file is a real ResNet-18 over
/// the host's tiny dataset (real <see cref="RunMistakes"/>, real run store), and the confusion matrix's cell clicks.</summary>
public sealed class MistakesPanelTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    Guid _id;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        var (id, path, file) = await TrainedRunFiles.ResNetRunAsync(_host);
        _id = id;
        // A recorded matrix the model cannot reproduce (every test image of "tiny" is the same, so one class gets them all).
        await RecordAsync([[1, 1], [1, 1]], path, file);
    }

    async Task RecordAsync(int[][] confusion, string path, string file)
    {
        await using var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        var r = await db.Runs.FirstAsync(x => x.Id == _id);
        r.Status = RunStatus.Succeeded;
        r.ResultJson = RunJson.Write(new RunResult { TestAccuracy = 0.5, TestExamples = confusion.Sum(x => x.Sum()), ClassNames = ["a", "b"],
            ConfusionMatrix = confusion, TrainedWeights = new TrainedWeights(file, Sha256.OfFile(path), new FileInfo(path).Length) });
        await db.SaveChangesAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task AGalleryThatDisagreesWithTheRecordedMatrix_IsNotShown_AndOneThatAgrees_IsFilteredByTheClickedCell()
    {
        var panel = _host.Ctx.Render<MistakesPanel>(p => p.Add(x => x.RunId, _id));
        panel.WaitForAssertion(() => panel.Find("[data-testid=mistakes-unavailable]").TextContent.ShouldContain("differ from the run's recorded confusion matrix"),
            TimeSpan.FromSeconds(60));
        panel.FindAll("[data-testid=mistake]").ShouldBeEmpty();

        // Record the matrix the model does reproduce (from the pass kept in the run's folder).
        var dir = _host.Get<RunOutputs>().DirOf(_id);
        var kept = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, RunMistakes.FileName)))!;
        var truth = kept["true"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var predicted = kept["predicted"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var confusion = new[] { new int[2], new int[2] };
        for (int i = 0; i < truth.Length; i++) confusion[truth[i]][predicted[i]]++;
        await RecordAsync(confusion, Path.Combine(dir, RunOutputs.WeightsFileNameOf(_id)), RunOutputs.WeightsFileNameOf(_id));
        int wrong = confusion[0][1] + confusion[1][0];
        wrong.ShouldBeGreaterThan(0, "identical images all get one class, so the other class's are wrong");

        (int True, int Predicted)? cell = null;
        panel = _host.Ctx.Render<MistakesPanel>(p => p.Add(x => x.RunId, _id)
            .Add(x => x.CellChanged, EventCallback.Factory.Create<(int True, int Predicted)?>(this, c => cell = c)));
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=mistake]").Count.ShouldBe(wrong), TimeSpan.FromSeconds(60));
        panel.Find("[data-testid=mistakes-summary]").TextContent.ShouldContain($"{wrong} of {truth.Length} test examples are wrong");
        panel.FindAll("[data-testid=mistake] img").ShouldAllBe(img => img.GetAttribute("src")!.StartsWith($"/api/runs/{_id}/mistakes/"));

        // The diagonal cell of the class everything is predicted as: its right answers.
        int p = predicted[0];
        panel.Render(ps => ps.Add(x => x.Cell, (p, p)));
        panel.WaitForAssertion(() =>
        {
            panel.FindAll("[data-testid=mistake]").Count.ShouldBe(confusion[p][p]);
            panel.Find("[data-testid=mistakes-summary]").TextContent.ShouldContain("least confident first");
        }, TimeSpan.FromSeconds(30));

        // An empty cell says so; "clear" goes back to every wrong answer and tells the page.
        panel.Render(ps => ps.Add(x => x.Cell, (p, 1 - p)));
        panel.WaitForAssertion(() => panel.Find("[data-testid=mistakes-empty]"), TimeSpan.FromSeconds(30));
        panel.Find("[data-testid=mistakes-clear]").Click();
        panel.WaitForAssertion(() => panel.FindAll("[data-testid=mistake]").Count.ShouldBe(wrong), TimeSpan.FromSeconds(30));
        cell.ShouldBeNull();
    }

    [Fact]
    public void TheConfusionMatrix_ReportsTheClickedCell_AndIsNotClickableWithoutACallback()
    {
        (int True, int Predicted)? clicked = null;
        var matrix = _host.Ctx.Render<ConfusionMatrix>(p => p.Add(x => x.Classes, ["a", "b"]).Add(x => x.Matrix, [[3, 1], [2, 4]])
            .Add(x => x.OnCellClick, EventCallback.Factory.Create<(int True, int Predicted)>(this, c => clicked = c)));
        matrix.Find("td[data-cell='1-0']").Click();
        clicked.ShouldBe((1, 0));

        var still = _host.Ctx.Render<ConfusionMatrix>(p => p.Add(x => x.Classes, ["a", "b"]).Add(x => x.Matrix, [[3, 1], [2, 4]]));
        still.FindAll("td[data-cell]").ShouldBeEmpty();
    }
}
