using System.Text.Json;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>The weights file a run leaves: the trained model itself, loadable by the reference key names.</summary>
[Collection(TorchGlobalRngCollection.Name)]
public sealed class TrainedWeightsTests : IDisposable
{
    const string FileName = "run-test.safetensors";
    readonly string _dir = Directory.CreateTempSubdirectory("modelzoo-trained-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    TrainingJob Job(HyperParameters h, string strategy = "feature-extraction", bool save = true) =>
        TrainerTests.Job(h, strategy) with { OutputDir = _dir, WeightsFileName = save ? FileName : null };


    /// <summary>The trained model's state_dict shapes and its logits on <paramref name="input"/>, read before it is disposed.</summary>
    static Action<ZooModel> Observe(Tensor input, Dictionary<string, long[]> shapes, Tensor[] logits) => model =>
    {
        foreach (var (k, t) in model.state_dict()) shapes[k] = t.shape;
        using var _ = no_grad();
        logits[0] = model.call(input.to(ModelZoo.Torch.Native.TorchRuntime.Device)).cpu().detach().clone();
    };

    static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max().to_type(ScalarType.Float64);
        return d.item<double>();
    }

    [Theory]
    [InlineData("feature-extraction")]
    [InlineData("full-fine-tune")]
    public void TheSavedFile_LoadsStrictlyIntoTheArchitecture_WithTheRunsHead_AndGivesTheTrainedModelsLogits(string strategy)
    {
        var job = Job(new HyperParameters { Epochs = 1, BatchSize = 16, LearningRate = 1e-2, ImageSize = 16, Seed = 5 }, strategy);
        using var input = rand([3, 3, 16, 16], generator: new Generator(11));
        var shapes = new Dictionary<string, long[]>();
        var trainedLogits = new Tensor[1];

        var outcome = new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None, Observe(input, shapes, trainedLogits));

        var path = Path.Combine(_dir, FileName);
        Directory.GetFiles(_dir).ShouldBe([path], "one file, no temp left beside it");
        outcome.Result.TrainedWeights.ShouldBe(new TrainedWeights(FileName, Sha256.OfFile(path), new FileInfo(path).Length));

        var header = SafeTensors.ReadHeader(path);
        header.Select(t => t.Name).ShouldBe(shapes.Keys, ignoreOrder: true);
        foreach (var t in header) t.Shape.ShouldBe(shapes[t.Name], t.Name);
        header.Single(t => t.Name == "fc.weight").Shape.ShouldBe([2L, 512L], "the run's 2-class head, not the entry's 1000");
        header.Where(t => t.Name.EndsWith(".weight")).ShouldAllBe(t => t.Dtype == "F32");
        header.Single(t => t.Name == "bn1.num_batches_tracked").Dtype.ShouldBe("I64", "integer buffers keep their type");

        using var reloaded = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(NumClasses: 2));
        var state = SafeTensors.Load(path);
        try { StateDictImporter.Import(reloaded, state, ImportOptions.Strict); }
        finally { foreach (var t in state.Values) t.Dispose(); }
        reloaded.eval();
        using var _ = no_grad();
        using var logits = reloaded.call(input);
        using var expected = trainedLogits[0];
        MaxAbsDiff(logits, expected).ShouldBeLessThan(1e-5, "the file is the trained model, BatchNorm statistics included");
    }

    [Fact]
    public void TheFileExplainsItself_InItsMetadata()
    {
        var job = Job(new HyperParameters { Epochs = 1, BatchSize = 32, ImageSize = 16, Seed = 2, TrainLimit = 32 }, "partial-fine-tune");
        new Trainer(ArchitectureRegistry.Default).Train(job, new TestRuns.Recorder(), CancellationToken.None);

        var metadata = SafeTensors.ReadMetadata(Path.Combine(_dir, FileName));
        metadata["format"].ShouldBe("pt");
        metadata["modelzoo.run"].ShouldBe(job.RunId.ToString());
        metadata["modelzoo.entry"].ShouldBe("resnet18.test");
        metadata["modelzoo.architecture"].ShouldBe("resnet18");
        metadata["modelzoo.dataset"].ShouldBe("dark-bright");
        metadata["modelzoo.strategy"].ShouldBe("partial-fine-tune");
        JsonSerializer.Deserialize<string[]>(metadata["modelzoo.classes"]).ShouldBe(["dark", "bright"]);
        metadata.ContainsKey("modelzoo.config").ShouldBeFalse("an image model is built from its name alone");
    }

    [Fact]
    public void AJobThatNamesNoWeightsFile_SavesNothing()
    {
        var outcome = new Trainer(ArchitectureRegistry.Default).Train(
            Job(new HyperParameters { Epochs = 1, BatchSize = 32, ImageSize = 16, TrainLimit = 32 }, save: false), new TestRuns.Recorder(), CancellationToken.None);
        outcome.Result.TrainedWeights.ShouldBeNull();
        Directory.GetFileSystemEntries(_dir).ShouldBeEmpty();
    }

    [Fact]
    public void ACancelledRun_SavesNothing()
    {
        using var cts = new CancellationTokenSource();
        Should.Throw<OperationCanceledException>(() => new Trainer(ArchitectureRegistry.Default).Train(
            Job(new HyperParameters { Epochs = 3, BatchSize = 8, ImageSize = 16 }), new TestRuns.Recorder(s => { if (s.GlobalStep == 2) cts.Cancel(); }), cts.Token));
        Directory.GetFileSystemEntries(_dir).ShouldBeEmpty();
    }
}
