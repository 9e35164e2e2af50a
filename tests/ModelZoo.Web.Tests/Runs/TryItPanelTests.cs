using ModelZoo.Torch.Native;
using Bunit;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Persistence;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Runs;
using ModelZoo.Web.Tests.Components;
using SkiaSharp;
using static TorchSharp.torch;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>The run page's "Try it" panel on a succeeded run whose weights file is a real ResNet-18 (real predictor,
/// real run store; see <see cref="ComponentHost"/>).</summary>
public sealed class TryItPanelTests : IAsyncLifetime
{
    ComponentHost _host = default!;
    Guid _id;

    public async Task InitializeAsync()
    {
        _host = await ComponentHost.CreateAsync();
        var (id, path, file) = await TrainedRunFiles.ResNetRunAsync(_host);
        _id = id;
        await using var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        var r = await db.Runs.FirstAsync(x => x.Id == _id);
        r.Status = RunStatus.Succeeded;
        r.ResultJson = RunJson.Write(new RunResult { TestAccuracy = 0.5, TestExamples = 4, ClassNames = ["a", "b"], ConfusionMatrix = [[1, 1], [1, 1]],
            TrainedWeights = new TrainedWeights(file, Sha256.OfFile(path), new FileInfo(path).Length) });
        await db.SaveChangesAsync();
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    static byte[] Png()
    {
        using var bitmap = new SKBitmap(40, 30);
        bitmap.Erase(SKColors.SteelBlue);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public void AnUploadedImage_ShowsTheClassesAsBarsWithPercentages_AndTheGradCamOverlayBesideWhatTheModelSaw()
    {
        var panel = _host.Ctx.Render<TryItPanel>(p => p.Add(x => x.RunId, _id));
        panel.FindAll("[data-testid=try-it-unavailable]").ShouldBeEmpty();

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(Png(), "square.png", contentType: "image/png"));

        panel.WaitForAssertion(() =>
        {
            var rows = panel.FindAll("[data-testid=try-it-class]");
            rows.Count.ShouldBe(2);
            rows.Select(r => r.QuerySelector(".try-it-name")!.TextContent).ShouldBe(["a", "b"], ignoreOrder: true);
            rows.ShouldAllBe(r => r.QuerySelector(".try-it-pct")!.TextContent.EndsWith(" %"));
            panel.Find("img[data-testid=try-it-gradcam]").GetAttribute("src")!.ShouldStartWith("data:image/png;base64,");
            panel.Find("img[data-testid=try-it-input]").GetAttribute("src")!.ShouldStartWith("data:image/png;base64,");
            panel.Find("figcaption").TextContent.ShouldNotBeEmpty();
        }, TimeSpan.FromSeconds(30));
        panel.FindAll("[data-testid=try-it-error]").ShouldBeEmpty();
    }

    [Fact]
    public void AFileThatIsNotAnImage_ShowsTheReason_AndThePanelStaysUsable()
    {
        var panel = _host.Ctx.Render<TryItPanel>(p => p.Add(x => x.RunId, _id));

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromText("name,label\nx,1\n", "table.csv"));
        panel.WaitForAssertion(() => panel.Find("[data-testid=try-it-error]").TextContent.ShouldContain("is not an image that can be read"),
            TimeSpan.FromSeconds(30));

        panel.FindComponent<InputFile>().UploadFiles(InputFileContent.CreateFromBinary(Png(), "square.png"));
        panel.WaitForAssertion(() =>
        {
            panel.FindAll("[data-testid=try-it-class]").Count.ShouldBe(2);
            panel.FindAll("[data-testid=try-it-error]").ShouldBeEmpty();
        }, TimeSpan.FromSeconds(30));
    }

    /// <summary>A text run of the repo's house BERT whose weights file is a fresh sequence classifier on its config.</summary>
    async Task<Guid> SucceededTextRunAsync()
    {
        var texts = new TextSet { Texts = Enumerable.Range(0, 20).Select(i => i % 2 == 0 ? $"the river {i}" : $"the fire {i}").ToArray(),
            Labels = Enumerable.Range(0, 20).Select(i => i % 2).ToArray(), ClassNames = ["water", "fire"] };
        _host.Get<DatasetStore>().Write(new DatasetInfo { Id = "words", Title = "Words", Modality = DatasetModality.Text, ClassNames = texts.ClassNames,
            Examples = 20 }, texts, StratifiedSplitter.Split(texts.Labels, 1));
        var launch = await _host.Get<RunService>().LaunchAsync(new RunRequest { ModelId = "bert_mlm.mini_house", DatasetId = "words" });
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var id = launch.RunId!.Value;
        var config = File.ReadAllText(Path.Combine(ModelZoo.Torch.Tests.TestFixtures.RepoRoot, "zoo", "bert_mlm.mini_house", "config.json"));
        var file = RunOutputs.WeightsFileNameOf(id);
        var path = Path.Combine(Directory.CreateDirectory(_host.Get<RunOutputs>().DirOf(id)).FullName, file);
        using (var model = TorchRuntime.BuildSeeded(1, () => ArchitectureRegistry.Default.Create("bert", new ArchitectureOptions(2, config))))
            SafeTensors.Save(path, model.state_dict(), ScalarType.Float32, new Dictionary<string, string>
            {
                ["modelzoo.architecture"] = "bert", ["modelzoo.classes"] = """["water","fire"]""", ["modelzoo.config"] = config,
            });
        await using var db = await _host.Get<IDbContextFactory<ZooDbContext>>().CreateDbContextAsync();
        var r = await db.Runs.FirstAsync(x => x.Id == id);
        r.Status = RunStatus.Succeeded;
        r.ResultJson = RunJson.Write(new RunResult { ClassNames = ["water", "fire"], ConfusionMatrix = [[1, 0], [0, 1]],
            TrainedWeights = new TrainedWeights(file, Sha256.OfFile(path), new FileInfo(path).Length) });
        await db.SaveChangesAsync();
        return id;
    }

    [Fact]
    public async Task ATextRun_OffersATextBox_AndShowsTheClassesWithoutAHeatmap()
    {
        var id = await SucceededTextRunAsync();
        var panel = _host.Ctx.Render<TryItPanel>(p => p.Add(x => x.RunId, id));
        panel.FindAll("[data-testid=try-it-file]").ShouldBeEmpty();
        panel.Find("textarea[data-testid=try-it-text]").Change("the river rose over the town");
        panel.Find("button[data-testid=try-it-classify]").Click();

        panel.WaitForAssertion(() =>
        {
            panel.FindAll("[data-testid=try-it-class]").Select(r => r.QuerySelector(".try-it-name")!.TextContent).ShouldBe(["water", "fire"], ignoreOrder: true);
            panel.Find("[data-testid=try-it-preprocessing]").TextContent.ShouldContain("Tokenised with the model's vocabulary");
        }, TimeSpan.FromSeconds(30));
        panel.FindAll("img[data-testid=try-it-gradcam]").ShouldBeEmpty();
    }

    [Fact]
    public async Task ARunThatIsNotSucceeded_SaysWhyItCannotBeTried()
    {
        var queued = (await _host.Get<RunService>().LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny" })).RunId!.Value;
        var panel = _host.Ctx.Render<TryItPanel>(p => p.Add(x => x.RunId, queued));
        panel.WaitForAssertion(() => panel.Find("[data-testid=try-it-unavailable]").TextContent.ShouldContain("is queued"));
        panel.FindAll("[data-testid=try-it-file]").ShouldBeEmpty();
    }
}
