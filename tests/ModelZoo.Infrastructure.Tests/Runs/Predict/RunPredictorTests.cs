using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Runs.Predict;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Predict;
using ModelZoo.Torch.Training;
using SkiaSharp;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Runs.Predict;

/// <summary>
/// "Try it" against the run's own test evaluation: real runs trained by the real worker and trainer on small data,
/// each test example sent as a user would send it (a PNG file, a text), and compared with what the evaluation path
/// computes for the same example, and with the confusion matrix the run recorded.
/// </summary>
public sealed class RunPredictorTests
{
    static async Task<RunView> TrainAsync(TestHost host, RunRequest request)
    {
        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(request);
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var v = await runs.UntilEndAsync(launch.RunId!.Value, TimeSpan.FromMinutes(5));
        v.Status.ShouldBe(RunStatus.Succeeded, v.Error);
        return v;
    }

    /// <summary>The run's evaluation path for its test split: the job the worker builds, the batch source the trainer
    /// uses (<see cref="BatchSources.For"/>, with its resize cache), and the run's saved model.</summary>
    static (IBatchSource Source, TrainedModel Model) EvaluationPath(TestHost host, RunView run, LoadedDataset data, Modality modality)
    {
        var catalog = host.Services.GetRequiredService<ZooCatalog>();
        var job = host.Services.GetRequiredService<TrainingJobs>().Prepare(run.Id, run.Request, Path.Combine(host.DataDir, "eval")).Job;
        var weights = host.Services.GetRequiredService<RunOutputs>().WeightsOf(run).Path.ShouldNotBeNull();
        var model = TrainedModel.Load(weights, catalog.OptionsOf(catalog.ManifestOf(run.ModelId)!));
        var source = BatchSources.For(job, data, modality, model.Model, CPU,
            new PipelineOptions { CacheDir = Path.Combine(host.DataDir, "eval-cache") }, CancellationToken.None);
        return (source, model);
    }

    static float[] Probabilities(IBatchSource source, TrainedModel model, int index)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var batches = source.Eval([index], 1, CancellationToken.None);
        using var batch = batches.Next();
        return nn.functional.softmax(model.Model.call(batch.X), 1)[0].data<float>().ToArray();
    }

    static void ShouldMatch(RunPrediction p, RunView run, float[] expected)
    {
        var names = run.Result!.ClassNames;
        p.Top.Count.ShouldBe(names.Count);
        p.Top.Select(c => c.Probability).ShouldBe(p.Top.Select(c => c.Probability).OrderByDescending(x => x), "most probable first");
        p.Top.Sum(c => c.Probability).ShouldBeLessThanOrEqualTo(1 + 1e-6);
        foreach (var c in p.Top)
        {
            c.Name.ShouldBe(names[c.Index], "the names the card and the confusion matrix use");
            c.Probability.ShouldBe(expected[c.Index], 1e-5);
        }
    }

    [Fact]
    public async Task ImagePredictions_OnTheTestSplit_AreTheEvaluationsProbabilities_AndRebuildItsConfusionMatrix()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default), settings: new Dictionary<string, string?> { ["Runs:Predict:CachedModels"] = "1" });
        await host.StartAsync();
        var (info, images, split) = TintedImages.Tinted(perClass: 20, seed: 3);
        host.Services.GetRequiredService<DatasetStore>().Write(info, images, split);
        var run = await TrainAsync(host, new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tinted", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 2, BatchSize = 16, ImageSize = 16, Seed = 5 },
        });
        var predictor = host.Services.GetRequiredService<RunPredictor>();
        var data = host.Services.GetRequiredService<DatasetStore>().Load("tinted");
        var (source, model) = EvaluationPath(host, run, data, Modality.Image);
        using var _s = source;
        using var _m = model;

        var confusion = Enumerable.Range(0, 3).Select(_ => new int[3]).ToArray();
        foreach (var i in data.Split.Test)
        {
            var outcome = await predictor.PredictImageAsync(run.Id, TintedImages.Png(images, i), top: 10);
            var p = outcome.Prediction.ShouldNotBeNull(outcome.Problem);
            ShouldMatch(p, run, Probabilities(source, model, i));
            confusion[images.Labels[i]][p.Top[0].Index]++;

            var cam = p.GradCam.ShouldNotBeNull();
            cam.Stage.ShouldBe("layer4");
            cam.TargetClass.ShouldBe(p.Top[0].Index);
            cam.TargetName.ShouldBe(p.Top[0].Name);
            cam.Map.Count.ShouldBe(cam.Height * cam.Width);
            cam.Map.ShouldAllBe(v => v >= 0 && v <= 1);
        }
        confusion.ShouldBe(run.Result!.ConfusionMatrix.Select(r => r.ToArray()).ToArray(), "each test example predicted as the run's evaluation predicted it");

        var last = (await predictor.PredictImageAsync(run.Id, TintedImages.Png(images, data.Split.Test[0]), top: 2)).Prediction!;
        last.Top.Count.ShouldBe(2);
        foreach (var url in new[] { last.GradCam!.OverlayPng, last.InputPng! })
        {
            url.ShouldStartWith("data:image/png;base64,");
            using var overlay = SKBitmap.Decode(Convert.FromBase64String(url["data:image/png;base64,".Length..]));
            (overlay.Width, overlay.Height).ShouldBe((256, 256));
        }
        predictor.CachedModels.ShouldBe(1);
    }

    [Fact]
    public async Task TextPredictions_OnTheTestSplit_AreTheEvaluationsProbabilities_AndRebuildItsConfusionMatrix()
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
        var run = await TrainAsync(host, new RunRequest
        {
            ModelId = "bert_mlm.mini_house", DatasetId = "topics", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 8, LearningRate = 1e-4, Seed = 3, MaxTokens = 32 },
        });
        var predictor = host.Services.GetRequiredService<RunPredictor>();
        var data = host.Services.GetRequiredService<DatasetStore>().Load("topics");
        var (source, model) = EvaluationPath(host, run, data, Modality.Text);
        using var _s = source;
        using var _m = model;

        var confusion = Enumerable.Range(0, 2).Select(_ => new int[2]).ToArray();
        foreach (var i in data.Split.Test)
        {
            var outcome = await predictor.PredictTextAsync(run.Id, data.Texts!.Texts[i]);
            var p = outcome.Prediction.ShouldNotBeNull(outcome.Problem);
            ShouldMatch(p, run, Probabilities(source, model, i));
            p.GradCam.ShouldBeNull();
            confusion[data.Texts.Labels[i]][p.Top[0].Index]++;
        }
        confusion.ShouldBe(run.Result!.ConfusionMatrix.Select(r => r.ToArray()).ToArray());

        // An image to a text run is refused, and so is an empty text.
        (await predictor.PredictImageAsync(run.Id, [1, 2, 3])).Failure.ShouldBe(PredictFailure.WrongModality);
        (await predictor.PredictTextAsync(run.Id, "  ")).Failure.ShouldBe(PredictFailure.BadInput);
    }

    [Fact]
    public void TheCache_KeepsItsCapacity_AndDisposesWhatItEvicts()
    {
        var dir = Directory.CreateTempSubdirectory("mz-cache-").FullName;
        try
        {
            using var resnet = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(2));
            var path = Path.Combine(dir, "w.safetensors");
            ModelZoo.Torch.Weights.SafeTensors.Save(path, resnet.state_dict(), ScalarType.Float32,
                new Dictionary<string, string> { ["modelzoo.architecture"] = "resnet18", ["modelzoo.classes"] = """["a","b"]""" });
            TrainedModel Load() => TrainedModel.Load(path, new ArchitectureOptions(2));
            using var cache = new TrainedModelCache(2);
            var a = cache.GetOrLoad("a", Load);
            var b = cache.GetOrLoad("b", Load);
            cache.GetOrLoad("a", () => throw new InvalidOperationException("a is cached")).ShouldBeSameAs(a);
            var c = cache.GetOrLoad("c", Load);
            cache.Count.ShouldBe(2);
            b.IsDisposed.ShouldBeTrue("b was the least recently used");
            a.IsDisposed.ShouldBeFalse();
            cache.Contains("b").ShouldBeFalse();
            cache.Dispose();
            a.IsDisposed.ShouldBeTrue();
            c.IsDisposed.ShouldBeTrue();
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
