using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Tests.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Infrastructure.Tests.Weights;

/// <summary>
/// ML.NET's ResNet-18 ONNX file through the catalogue's own import: the repository's entry resnet18_cntk.mlnet_in1k,
/// the real file from the NuGet package, the real service, export and a feature-extraction run.
/// </summary>
public sealed class OnnxWeightsImportTests : IAsyncLifetime
{
    const string EntryId = "resnet18_cntk.mlnet_in1k";
    static readonly string OnnxSha256 = "e2552f19db2dfdb01b3669537b6a0f1b44da38d18279535492ed5dfc2ef1ff8f";

    readonly TestZoo _zoo = new();
    TestHost _host = default!;

    WeightsImportService Service => _host.Services.GetRequiredService<WeightsImportService>();
    ZooCatalog Catalog => _host.Services.GetRequiredService<ZooCatalog>();
    string WeightsDir => _host.Services.GetRequiredService<ZooPaths>().WeightsDir;

    public Task InitializeAsync() => Task.CompletedTask;

    async Task StartAsync(IRunTrainer? trainer = null)
    {
        _zoo.CopyEntry(EntryId, TestFixtures.RepoRoot);
        _host = new TestHost(trainer ?? new NoTrainer(), startWorker: trainer is not null, new Dictionary<string, string?>
        {
            ["Storage:ZooDir"] = _zoo.Dir,
        });
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        _zoo.Dispose();
    }

    sealed class NoTrainer : IRunTrainer
    {
        public string Device => "none";
        public TrainingOutcome Train(TrainingJob job, IRunProgress progress, CancellationToken ct) => throw new NotSupportedException();
    }

    async Task<WeightsImportResult> Import(string id, string path, string? name = null)
    {
        await using var fs = File.OpenRead(path);
        return await Service.ImportAsync(id, fs, name ?? Path.GetFileName(path), fs.Length);
    }

    void ShouldHaveLeftNothing() =>
        Directory.EnumerateFileSystemEntries(WeightsDir, "*", SearchOption.AllDirectories).ShouldBeEmpty();

    [Fact]
    public async Task Import_AcceptsMlNetsResNet18Onnx_ForTheEntry_WhichThenHasWeights()
    {
        await StartAsync();
        Catalog.Find(EntryId)!.Weights.ShouldBe(WeightsAvailability.FetchToEnable, "the entry names its NuGet package");

        var result = await Import(EntryId, OnnxTestFiles.MlNetResNet18);

        result.Ok.ShouldBeTrue(result.Error);
        result.Imported!.Sha256.ShouldBe(OnnxSha256);
        result.Imported.Path.ShouldBe(Path.Combine(WeightsDir, EntryId, "ResNet18.onnx"));
        result.Imported.Messages.ShouldContain(m => m.Contains("110 of 134"));
        result.Imported.Messages.ShouldContain(m => m.Contains("initialised fresh") || m.Contains("fresh"));
        Catalog.Find(EntryId)!.Weights.ShouldBe(WeightsAvailability.Available);
        Catalog.StartingWeightsOf(Catalog.ManifestOf(EntryId)!)!.Sha256.ShouldBe(OnnxSha256);
    }

    [Fact]
    public async Task Export_OfTheImportedOnnx_IsTheMappedBackbone_UnderReferenceKeys_AsImportOnnxWritesIt()
    {
        await StartAsync();
        (await Import(EntryId, OnnxTestFiles.MlNetResNet18)).Ok.ShouldBeTrue();

        var export = await _host.Services.GetRequiredService<WeightsExporter>().ExportAsync(Catalog.ManifestOf(EntryId)!, ExportDtype.F32);
        export.ShouldNotBeNull();
        var copy = Path.Combine(_zoo.Dir, "export.safetensors");
        await using (var content = export.Content)
        await using (var fs = File.Create(copy))
            await content.CopyToAsync(fs);
        var header = SafeTensors.ReadHeader(copy);
        header.Count.ShouldBe(132, "110 mapped tensors and 22 num_batches_tracked, as import-onnx writes them");
        header.Select(h => h.Name).ShouldContain("layer4.2.conv2.weight");
        header.Select(h => h.Name).ShouldNotContain("fc.weight");
        header.Single(h => h.Name == "conv1.weight").Shape.ShouldBe([64L, 3, 7, 7]);
    }

    [Fact]
    public async Task Import_RefusesATruncatedOnnxFile_NamingIt_AndLeavesNothing()
    {
        var cut = Path.Combine(_zoo.Dir, "cut.onnx");
        await using (var src = File.OpenRead(OnnxTestFiles.MlNetResNet18))
        await using (var dst = File.Create(cut))
        {
            var buffer = new byte[1 << 20];
            for (int i = 0; i < 5; i++) await dst.WriteAsync(buffer.AsMemory(0, await src.ReadAsync(buffer)));
        }
        // Pinned to the cut file's own hash, so the importer reaches the ONNX reader.
        var id = _zoo.AddOnnx("cut", Sha256.OfFile(cut));
        await StartAsync();

        var result = await Import(id, cut, "ResNet18.onnx");

        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error!.ShouldStartWith("ResNet18.onnx: is truncated or not an ONNX model");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RefusesTheOnnxFile_ForAnArchitectureItDoesNotFit_NamingTheBlock()
    {
        var id = _zoo.AddOnnx("mlnet", OnnxSha256, architecture: "resnet18");
        await StartAsync();

        var result = await Import(id, OnnxTestFiles.MlNetResNet18);

        result.Failure.ShouldBe(WeightsImportFailure.DoesNotFit);
        result.Error!.ShouldStartWith("ResNet18.onnx does not fit resnet18");
        result.Error.ShouldContain("layer4.2", customMessage: "ML.NET's fourth stage has a third block; torchvision's resnet18 has two");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RefusesACheckpointOfAnotherFormat_ForAnOnnxEntry()
    {
        const string fixture = "mobilenet_v2_seed7.pth";
        var id = _zoo.AddOnnx("pth", Sha256.OfFile(TestFixtures.PathOf(fixture)), architecture: "mobilenet_v2");
        await StartAsync();

        var result = await Import(id, TestFixtures.PathOf(fixture));

        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error!.ShouldContain("the file is a PyTorch .pth archive, but");
        result.Error.ShouldContain("expects an ONNX model");
        ShouldHaveLeftNothing();
    }

    /// <summary>A feature-extraction run on the entry after the import: the ONNX file initialises the backbone,
    /// the mean image is resized to the run's 32 px, and the card describes that preprocessing and names the file's sha256.</summary>
    [Fact]
    public async Task FeatureExtraction_OnTheImportedEntry_RunsAt32Pixels_WithItsOwnPreprocessing()
    {
        await StartAsync(new Trainer(ArchitectureRegistry.Default, new FileWeightsInitializer()));
        (await Import(EntryId, OnnxTestFiles.MlNetResNet18)).Ok.ShouldBeTrue();

        var runs = _host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = EntryId, DatasetId = "tiny", Strategy = "feature-extraction",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 32, LearningRate = 1e-3, Seed = 3 },
        });
        launch.Ok.ShouldBeTrue();
        var view = await runs.UntilEndAsync(launch.RunId!.Value);

        view.Status.ShouldBe(RunStatus.Succeeded, view.Error);
        var card = view.CardMarkdown.ShouldNotBeNull();
        card.ShouldContain($"(sha256 `{OnnxSha256}`)");
        card.ShouldContain("channels reordered to BGR, pixels on the 0-255 scale, minus the mean image `mean_image.safetensors` (224x224, one value per channel and pixel, resized to 32x32 with bicubic interpolation, antialiased), no further scaling");
        card.ShouldNotContain("normalised with mean");
    }
}
