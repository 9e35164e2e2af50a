using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using Onnx;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Runs;

/// <summary>A succeeded run's model as ONNX, through the real worker and trainer on a tiny dataset.</summary>
public sealed class RunOnnxExportTests
{
    /// <summary>The tolerances of the exporter's own parity test (OnnxExportParityTests).</summary>
    const double Atol = 1e-4, Rtol = 1e-4;

    [Fact]
    public async Task ASucceededRun_ExportsToOnnx_ThatComputesItsTrainedWeights_WithItsLabelsAndPreprocessing()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default));
        await host.StartAsync();
        var runs = host.Services.GetRequiredService<RunService>();
        var exporter = host.Services.GetRequiredService<RunOnnxExporter>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = "tiny", Strategy = "full-fine-tune",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, Seed = 5 },
        });
        var id = launch.RunId!.Value;
        var v = await runs.UntilEndAsync(id);
        v.Status.ShouldBe(RunStatus.Succeeded, v.Error);

        var export = await exporter.ExportAsync(v);
        export.Problem.ShouldBeNull();
        export.FileName.ShouldBe($"run-{id:N}.onnx");
        var path = export.Path.ShouldNotBeNull();
        var written = File.GetLastWriteTimeUtc(path);

        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        meta["labels"].ShouldBe("""["a","b"]""");
        meta["input_size"].ShouldBe("16", "the run's image size, not the entry's 224");
        meta["mean"].ShouldBe("[0.485,0.456,0.406]");
        meta["modelzoo.run"].ShouldBe(id.ToString());
        meta["modelzoo.weights_sha256"].ShouldBe(v.Result!.TrainedWeights!.Sha256);

        // The same input through the ONNX file and through the run's weights loaded into resnet18.
        manual_seed(1);
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 16, 16);
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(2));
        var weights = SafeTensors.Load(WeightsPathOf(host, id));
        StateDictImporter.Import(model, weights, ImportOptions.Strict);
        model.eval();
        Tensor expected;
        using (no_grad()) expected = model.call(x);
        using var session = new InferenceSession(path);
        using var input = OrtValue.CreateTensorValueFromMemory(x.data<float>().ToArray(), [2, 3, 16, 16]);
        using var options = new RunOptions();
        using var results = session.Run(options, ["input"], [input], ["logits"]);
        var actual = tensor(results[0].GetTensorDataAsSpan<float>().ToArray(), [2, 2]);
        var closeness = Closeness.Measure(actual, expected, Atol, Rtol);
        closeness.Passed.ShouldBeTrue(closeness.ToString());

        // Written once: the second request serves the same file.
        (await exporter.ExportAsync(v)).Path.ShouldBe(path);
        File.GetLastWriteTimeUtc(path).ShouldBe(written);
    }

    static string WeightsPathOf(TestHost host, Guid id) => Path.Combine(host.DataDir, "runs", id.ToString(), $"run-{id:N}.safetensors");

    /// <summary>A succeeded run whose weights file is <paramref name="write"/>'s, recorded as the worker records it.</summary>
    static RunView Succeeded(TestHost host, string modelId, Action<string> write)
    {
        var id = Guid.NewGuid();
        var outputs = host.Services.GetRequiredService<RunOutputs>();
        var file = RunOutputs.WeightsFileNameOf(id);
        var path = Path.Combine(Directory.CreateDirectory(outputs.DirOf(id)).FullName, file);
        write(path);
        return new RunView
        {
            Id = id, ModelId = modelId, DatasetId = "tiny", Status = RunStatus.Succeeded,
            Result = new RunResult { TrainedWeights = new TrainedWeights(file, Sha256.OfFile(path), new FileInfo(path).Length) },
        };
    }

    [Fact]
    public async Task WeightsThatDoNotSayWhatTheyAre_AreNotExported_AndTheReasonSaysSo()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default), startWorker: false);
        var exporter = host.Services.GetRequiredService<RunOnnxExporter>();
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(2));
        var run = Succeeded(host, "resnet18.tv_in1k", path => SafeTensors.Save(path, model.state_dict()));

        var export = await exporter.ExportAsync(run);

        export.Path.ShouldBeNull();
        export.Failure.ShouldBe(RunOnnxFailure.NotExportable);
        export.Problem.ShouldBe($"Run {run.Id}'s model cannot be exported to ONNX: run-{run.Id:N}.safetensors does not name its architecture " +
                                "(modelzoo.architecture); only weights a run saved can be used.");
        var dir = host.Services.GetRequiredService<RunOutputs>().DirOf(run.Id);
        Directory.GetFiles(dir).ShouldBe([Path.Combine(dir, RunOutputs.WeightsFileNameOf(run.Id))], "no ONNX file and no temp file");
    }

    [Fact]
    public async Task ARunOfAnEntryNoLongerInTheCatalogue_IsNotExported_SinceItsPreprocessingIsUnknown()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default), startWorker: false);
        var exporter = host.Services.GetRequiredService<RunOnnxExporter>();
        var run = Succeeded(host, "gone.entry", path => File.WriteAllBytes(path, [1, 2, 3]));

        var export = await exporter.ExportAsync(run);

        export.Failure.ShouldBe(RunOnnxFailure.NotExportable);
        export.Problem.ShouldNotBeNull().ShouldContain("trained catalogue entry 'gone.entry', which this installation no longer has");
    }

    [Fact]
    public async Task AFailedRun_HasNoOnnxModel_AndSaysWhy()
    {
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default));
        var exporter = host.Services.GetRequiredService<RunOnnxExporter>();
        var run = new RunView { Id = Guid.NewGuid(), ModelId = "resnet18.tv_in1k", Status = RunStatus.Failed, Error = "out of memory" };

        var export = await exporter.ExportAsync(run);

        export.Path.ShouldBeNull();
        export.Failure.ShouldBe(RunOnnxFailure.NoWeights);
        export.Problem.ShouldBe($"Run {run.Id} failed, so it saved no weights: out of memory");
    }
}
