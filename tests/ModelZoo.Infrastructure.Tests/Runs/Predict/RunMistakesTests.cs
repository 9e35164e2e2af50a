using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Predict;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using SkiaSharp;

namespace ModelZoo.Infrastructure.Tests.Runs.Predict;

/// <summary>"Where it goes wrong" against a real run trained by the real worker: the gallery's (true, predicted) counts
/// are the run's recorded confusion matrix, its order, its filters, its images, its cache and its refusal when the
/// predictions disagree with the record.</summary>
public sealed class RunMistakesTests
{
    [Fact]
    public async Task WrongGallery_OfATinyImageRun_RebuildsTheConfusionMatrix_IsOrderedAndFiltered_AndServesTheStoredImages()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default));
        await host.StartAsync();
        var (info, images, split) = TintedImages.Tinted(perClass: 20, seed: 7);
        host.Services.GetRequiredService<DatasetStore>().Write(info, images, split);
        var runs = host.Services.GetRequiredService<RunService>();
        // A barely trained model, so the test split has mistakes to show.
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tinted", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 5, LearningRate = 1e-5 },
        });
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var run = await runs.UntilEndAsync(launch.RunId!.Value, TimeSpan.FromMinutes(5));
        run.Status.ShouldBe(RunStatus.Succeeded, run.Error);
        var names = run.Result!.ClassNames;
        var recorded = run.Result.ConfusionMatrix;
        int wrong = Enumerable.Range(0, 3).Sum(t => Enumerable.Range(0, 3).Where(p => p != t).Sum(p => recorded[t][p]));
        wrong.ShouldBeGreaterThan(0, "the barely trained run should get some test examples wrong");

        var mistakes = host.Services.GetRequiredService<RunMistakes>();
        var all = (await mistakes.QueryAsync(run.Id, take: 200)).View.ShouldNotBeNull();
        all.TestExamples.ShouldBe(split.Test.Length);
        all.Wrong.ShouldBe(wrong);
        all.Matching.ShouldBe(wrong);
        all.Examples.ShouldAllBe(e => e.True != e.Predicted);
        all.Examples.Select(e => e.Confidence).ShouldBe(all.Examples.Select(e => e.Confidence).OrderByDescending(c => c), "most confident first");
        all.Examples.Select(e => e.Index).ShouldAllBe(i => split.Test.Contains(i));
        all.Examples.ShouldAllBe(e => images.Labels[e.Index] == names.ToList().IndexOf(e.True), "the true class is the stored label");

        // Every cell, diagonal included, has the recorded count: the gallery is the matrix's examples.
        var seen = new HashSet<int>();
        for (int t = 0; t < 3; t++)
            for (int p = 0; p < 3; p++)
            {
                var cell = (await mistakes.QueryAsync(run.Id, names[t], names[p], take: 200)).View.ShouldNotBeNull();
                cell.Matching.ShouldBe(recorded[t][p], $"cell {names[t]} -> {names[p]}");
                cell.Examples.ShouldAllBe(e => e.True == names[t] && e.Predicted == names[p]);
                cell.Examples.ShouldAllBe(e => e.Confidence > 0 && e.Confidence <= 1);
                var order = cell.Examples.Select(e => e.Confidence).ToList();
                order.ShouldBe(t == p ? order.OrderBy(c => c).ToList() : order.OrderByDescending(c => c).ToList());
                foreach (var e in cell.Examples) seen.Add(e.Index).ShouldBeTrue("each test example in one cell");
            }
        seen.Order().ShouldBe(split.Test.Order());

        // take, and a row filter alone.
        (await mistakes.QueryAsync(run.Id, take: 1)).View!.Examples.ShouldHaveSingleItem().ShouldBe(all.Examples[0]);
        var row = (await mistakes.QueryAsync(run.Id, trueClass: names[0], take: 200)).View!;
        row.Matching.ShouldBe(recorded[0][1] + recorded[0][2]);

        // The image endpoint's PNG is the stored example.
        var first = all.Examples[0];
        first.ImageUrl.ShouldBe($"/api/runs/{run.Id}/mistakes/{first.Index}/image.png");
        var (png, refusal) = await mistakes.ImageAsync(run.Id, first.Index, size: 12);
        refusal.ShouldBeNull();
        using (var bitmap = SKBitmap.Decode(png.ShouldNotBeNull()))
        {
            (bitmap.Width, bitmap.Height).ShouldBe((12, 12));
            int plane = 12 * 12, offset = first.Index * 3 * plane;
            for (int y = 0; y < 12; y++)
                for (int x = 0; x < 12; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    (c.Red, c.Green, c.Blue).ShouldBe((images.Pixels[offset + y * 12 + x], images.Pixels[offset + plane + y * 12 + x],
                        images.Pixels[offset + 2 * plane + y * 12 + x]));
                }
        }
        (await mistakes.ImageAsync(run.Id, split.Train[0])).Refusal!.Failure.ShouldBe(PredictFailure.RunNotFound, "not a test example");

        // Refusals: unknown class, bad take, unknown run.
        (await mistakes.QueryAsync(run.Id, trueClass: "purple")).Failure.ShouldBe(PredictFailure.BadInput);
        (await mistakes.QueryAsync(run.Id, take: 0)).Failure.ShouldBe(PredictFailure.BadInput);
        (await mistakes.QueryAsync(Guid.NewGuid())).Failure.ShouldBe(PredictFailure.RunNotFound);

        // The pass is kept in the run's folder; predictions that disagree with the record are refused, not shown.
        var file = Path.Combine(host.Services.GetRequiredService<RunOutputs>().DirOf(run.Id), RunMistakes.FileName);
        File.Exists(file).ShouldBeTrue();
        Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp-*").ShouldBeEmpty();
        var json = JsonNode.Parse(File.ReadAllText(file))!;
        var predicted = json["predicted"]!.AsArray();
        predicted[0] = (predicted[0]!.GetValue<int>() + 1) % 3;
        File.WriteAllText(file, json.ToJsonString());
        var disagreeing = await mistakes.QueryAsync(run.Id);
        disagreeing.Failure.ShouldBe(PredictFailure.NotAvailable);
        disagreeing.Problem.ShouldContain("confusion matrix");

        // A changed weights hash makes the file stale: it is computed again, and agrees again.
        json["weightsSha256"] = "stale";
        File.WriteAllText(file, json.ToJsonString());
        (await mistakes.QueryAsync(run.Id, take: 200)).View.ShouldNotBeNull().Examples.ShouldBe(all.Examples);
    }

    [Fact]
    public async Task TextGallery_OfAHouseBertRun_RebuildsTheConfusionMatrix_AndCarriesTheTexts()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default));
        await host.StartAsync();
        var texts = HouseBertRunTests.WaterOrFire(perClass: 20, seed: 5);
        var split = StratifiedSplitter.Split(texts.Labels, 1);
        host.Services.GetRequiredService<DatasetStore>().Write(new DatasetInfo
        {
            Id = "topics", Title = "Topics", Modality = DatasetModality.Text, ClassNames = texts.ClassNames, Examples = texts.Count,
            License = "test", Provenance = "generated in test", Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
        }, texts, split);
        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = "bert_mlm.mini_house", DatasetId = "topics", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 8, LearningRate = 1e-4, Seed = 3, MaxTokens = 32 },
        });
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var run = await runs.UntilEndAsync(launch.RunId!.Value, TimeSpan.FromMinutes(5));
        run.Status.ShouldBe(RunStatus.Succeeded, run.Error);
        var names = run.Result!.ClassNames;

        var mistakes = host.Services.GetRequiredService<RunMistakes>();
        var seen = 0;
        for (int t = 0; t < names.Count; t++)
            for (int p = 0; p < names.Count; p++)
            {
                var cell = (await mistakes.QueryAsync(run.Id, names[t], names[p], take: 200)).View.ShouldNotBeNull();
                cell.Modality.ShouldBe("text");
                cell.Matching.ShouldBe(run.Result.ConfusionMatrix[t][p], $"cell {names[t]} -> {names[p]}");
                foreach (var e in cell.Examples)
                {
                    e.ImageUrl.ShouldBeNull();
                    e.Text.ShouldBe(texts.Texts[e.Index], "the test example's own text");
                    texts.Labels[e.Index].ShouldBe(t);
                    seen++;
                }
            }
        seen.ShouldBe(split.Test.Length);
        (await mistakes.ImageAsync(run.Id, split.Test[0])).Refusal!.Failure.ShouldBe(PredictFailure.WrongModality);
    }
}
