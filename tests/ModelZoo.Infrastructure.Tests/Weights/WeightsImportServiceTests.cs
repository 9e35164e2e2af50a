using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Weights;

public sealed class WeightsImportServiceTests : IAsyncLifetime
{
    const string ResNetFixture = "resnet18_seed7.safetensors";
    static readonly string ResNetSha256 = Sha256.OfFile(TestFixtures.PathOf(ResNetFixture));

    readonly TestZoo _zoo = new();
    TestHost _host = default!;
    long _maxUpload = 64L << 20;

    WeightsImportService Service => _host.Services.GetRequiredService<WeightsImportService>();
    ICatalog Catalog => _host.Services.GetRequiredService<ICatalog>();
    string WeightsDir => _host.Services.GetRequiredService<ZooPaths>().WeightsDir;

    public Task InitializeAsync() => Task.CompletedTask;

    async Task StartAsync()
    {
        _host = new TestHost(new NoTrainer(), startWorker: false, new Dictionary<string, string?>
        {
            ["Storage:ZooDir"] = _zoo.Dir,
            ["Weights:MaxUploadBytes"] = _maxUpload.ToString(),
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

    sealed class ProgressLog : IProgress<WeightsImportProgress>
    {
        public List<WeightsImportProgress> Reports { get; } = [];
        public void Report(WeightsImportProgress value) { lock (Reports) Reports.Add(value); }
    }

    async Task<WeightsImportResult> ImportFixture(string id, string fixture, ProgressLog? progress = null)
    {
        var path = TestFixtures.PathOf(fixture);
        await using var fs = File.OpenRead(path);
        return await Service.ImportAsync(id, fs, fixture, fs.Length, progress);
    }

    void ShouldHaveLeftNothing() =>
        Directory.EnumerateFileSystemEntries(WeightsDir, "*", SearchOption.AllDirectories).ShouldBeEmpty();

    [Fact]
    public async Task Import_StoresTheFileAndItsRecord_WhenItFitsAndMatchesThePublishedSha256()
    {
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(ResNetFixture, sha256: ResNetSha256));
        await StartAsync();
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable);
        var progress = new ProgressLog();

        var result = await ImportFixture(id, ResNetFixture, progress);

        result.Ok.ShouldBeTrue(result.Error);
        var imported = result.Imported!;
        imported.Sha256.ShouldBe(ResNetSha256);
        imported.Bytes.ShouldBe(new FileInfo(TestFixtures.PathOf(ResNetFixture)).Length);
        imported.OriginalFileName.ShouldBe(ResNetFixture);
        imported.Messages.ShouldContain("The checkpoint's classifier ('fc') has 10 classes and the model has 1000, so the head was initialised fresh.");
        imported.Path.ShouldBe(Path.Combine(WeightsDir, id, ResNetFixture));
        Sha256.OfFile(imported.Path).ShouldBe(ResNetSha256);
        File.Exists(imported.Path + ".import.json").ShouldBeTrue();
        Directory.EnumerateFileSystemEntries(WeightsDir).ShouldBe([Path.Combine(WeightsDir, id)], "no temp folder is left");

        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.Available);
        _host.Services.GetRequiredService<ModelZoo.Infrastructure.Catalog.ZooCatalog>().ImportedWeightsOf(Catalog.Find(id)!.Manifest)!.Sha256.ShouldBe(ResNetSha256);
        progress.Reports.Where(p => p.Stage == WeightsImportStage.Receiving).Last().Bytes.ShouldBe(imported.Bytes);
        progress.Reports.Select(p => p.Stage).Distinct().ShouldBe([WeightsImportStage.Receiving, WeightsImportStage.Validating, WeightsImportStage.Storing]);
    }

    [Fact]
    public async Task Import_AcceptsAFile_WhoseSha256StartsWithThePublishedPrefix()
    {
        var id = _zoo.Add("prefixed", TestZoo.SafeTensors("resnet18-" + ResNetSha256[..8] + ".safetensors", prefix: ResNetSha256[..8]));
        await StartAsync();
        var result = await ImportFixture(id, ResNetFixture);
        result.Ok.ShouldBeTrue(result.Error);
        File.Exists(Path.Combine(WeightsDir, id, "resnet18-" + ResNetSha256[..8] + ".safetensors")).ShouldBeTrue();
    }

    [Fact]
    public async Task Import_RejectsAFile_WhoseSha256DoesNotStartWithThePublishedPrefix_AndLeavesNothing()
    {
        var id = _zoo.Add("tv", TestZoo.SafeTensors("resnet18-f37072fd.safetensors", prefix: "f37072fd"));
        await StartAsync();
        var result = await ImportFixture(id, ResNetFixture);
        result.Failure.ShouldBe(WeightsImportFailure.HashMismatch);
        result.Error.ShouldBe($"{ResNetFixture}: sha256 {ResNetSha256} does not start with the published 'f37072fd': the file is not the " +
                              "published checkpoint (an incomplete or corrupt download, or another file).");
        ShouldHaveLeftNothing();
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable);
    }

    [Fact]
    public async Task Import_RejectsAFile_WhoseSha256DiffersFromThePublishedOne()
    {
        var id = _zoo.Add("pinned", TestZoo.SafeTensors("w.safetensors", sha256: new string('0', 64)));
        await StartAsync();
        var result = await ImportFixture(id, ResNetFixture);
        result.Failure.ShouldBe(WeightsImportFailure.HashMismatch);
        result.Error!.ShouldContain($"sha256 {ResNetSha256} differs from the published {new string('0', 64)}");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RejectsAnotherArchitecturesCheckpoint_WithTheKeyLists_AndLeavesNothing()
    {
        var id = _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        await StartAsync();
        var result = await ImportFixture(id, "mobilenet_v2_seed7.safetensors");

        result.Failure.ShouldBe(WeightsImportFailure.DoesNotFit);
        result.Error!.ShouldStartWith("mobilenet_v2_seed7.safetensors: Checkpoint does not fit resnet18:");
        result.Error.ShouldContain("missing keys (conv1.weight");
        result.Error.ShouldContain("Nothing was imported.");
        result.Missing.ShouldContain("layer4.1.bn2.running_var");
        result.Unexpected.ShouldContain("features.0.0.weight");
        ShouldHaveLeftNothing();
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable);
    }

    [Fact]
    public async Task Import_RejectsATruncatedFile_NamingItAndTheProblem()
    {
        var id = _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        await StartAsync();
        var bytes = await File.ReadAllBytesAsync(TestFixtures.PathOf(ResNetFixture));
        using var half = new MemoryStream(bytes, 0, bytes.Length / 2);

        var result = await Service.ImportAsync(id, half, "resnet18.safetensors");

        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error!.ShouldStartWith("resnet18.safetensors: ");
        result.Error.ShouldContain("truncated");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RejectsAFileInAnotherFormatThanTheEntryNames()
    {
        var id = _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        await StartAsync();
        var result = await ImportFixture(id, "mobilenet_v2_seed7.pth");
        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error.ShouldBe("mobilenet_v2_seed7.pth: the file is a PyTorch .pth archive, but 'resnet18.unpinned' expects a safetensors file " +
                              "(model.safetensors). Import the file the entry describes.");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RejectsAnEmptyFile()
    {
        var id = _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        await StartAsync();
        var result = await Service.ImportAsync(id, new MemoryStream(), "empty.safetensors");
        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error.ShouldBe("empty.safetensors: the file is empty.");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RejectsAnUploadOverTheLimit_WhetherItsSizeIsAnnouncedOrNot()
    {
        _maxUpload = 1 << 20;
        var id = _zoo.Add("unpinned", TestZoo.SafeTensors("model.safetensors"));
        await StartAsync();

        var announced = await ImportFixture(id, ResNetFixture);
        announced.Failure.ShouldBe(WeightsImportFailure.TooLarge);
        announced.Error.ShouldBe($"{ResNetFixture}: the file is 21.36 MiB, which is larger than the upload limit of 1 MiB (setting Weights:MaxUploadBytes).");

        await using var fs = File.OpenRead(TestFixtures.PathOf(ResNetFixture));
        var streamed = await Service.ImportAsync(id, fs, ResNetFixture);
        streamed.Failure.ShouldBe(WeightsImportFailure.TooLarge);
        streamed.Error.ShouldBe($"{ResNetFixture}: the file is larger than the upload limit of 1 MiB (setting Weights:MaxUploadBytes).");
        fs.Position.ShouldBeLessThan(fs.Length, "reading stops once the limit is passed");
        ShouldHaveLeftNothing();
    }

    [Fact]
    public async Task Import_RefusesAnEntryWithoutAWeightsSection_AndAnUnknownEntry()
    {
        var id = _zoo.Add("scratch", weights: null);
        await StartAsync();
        var none = await ImportFixture(id, ResNetFixture);
        none.Failure.ShouldBe(WeightsImportFailure.NoWeightsSection);
        none.Error!.ShouldContain("catalogue entry 'resnet18.scratch' names no weights file");
        var unknown = await ImportFixture("resnet18.nope", ResNetFixture);
        unknown.Failure.ShouldBe(WeightsImportFailure.UnknownEntry);
        ShouldHaveLeftNothing();
    }

    /// <summary>Hands out its bytes only once the test opens the gate, so an import can be held mid-upload.</summary>
    sealed class GatedStream(byte[] bytes, Task gate) : MemoryStream(bytes)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            await gate.WaitAsync(ct);
            return await base.ReadAsync(buffer, ct);
        }
    }

    [Fact]
    public async Task Import_RefusesASecondImportOfTheSameEntry_WhileTheFirstIsInProgress()
    {
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(ResNetFixture));
        await StartAsync();
        var gate = new TaskCompletionSource();
        var first = Service.ImportAsync(id, new GatedStream(await File.ReadAllBytesAsync(TestFixtures.PathOf(ResNetFixture)), gate.Task), ResNetFixture);

        var second = await ImportFixture(id, ResNetFixture);
        second.Failure.ShouldBe(WeightsImportFailure.Busy);
        second.Error.ShouldBe($"{ResNetFixture}: another import of '{id}' is in progress; try again when it has finished.");

        gate.SetResult();
        (await first).Ok.ShouldBeTrue();
        (await ImportFixture(id, ResNetFixture)).Ok.ShouldBeTrue("a re-import replaces the weights once the first has finished");
    }

    [Fact]
    public async Task Catalog_ReportsAvailableOnlyForACompletedImport_NotForAFileAlone()
    {
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(ResNetFixture));
        await StartAsync();
        var dir = Directory.CreateDirectory(Path.Combine(WeightsDir, id)).FullName;
        File.Copy(TestFixtures.PathOf(ResNetFixture), Path.Combine(dir, ResNetFixture));
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable, "a file without an import record may be half-copied");

        (await ImportFixture(id, ResNetFixture)).Ok.ShouldBeTrue();
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.Available);

        await File.AppendAllTextAsync(Path.Combine(dir, ResNetFixture), "changed on disk");
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable, "a file that no longer matches its record is not the imported one");
    }

    [Theory]
    [InlineData(ExportDtype.F32)]
    [InlineData(ExportDtype.F16)]
    public async Task Export_WritesTheImportedTensorsAsSafetensors(ExportDtype dtype)
    {
        var id = _zoo.Add("seed7", TestZoo.SafeTensors(ResNetFixture));
        await StartAsync();
        var manifest = Catalog.Find(id)!.Manifest;
        var exporter = _host.Services.GetRequiredService<WeightsExporter>();
        (await exporter.ExportAsync(manifest, dtype)).ShouldBeNull("nothing imported yet");
        (await ImportFixture(id, ResNetFixture)).Ok.ShouldBeTrue();

        var export = (await exporter.ExportAsync(manifest, dtype))!;
        export.FileName.ShouldBe(dtype == ExportDtype.F32 ? "resnet18.seed7.safetensors" : "resnet18.seed7.f16.safetensors");
        var copy = Path.Combine(_host.DataDir, "export.safetensors");
        await using (export.Content)
        await using (var f = File.Create(copy)) await export.Content.CopyToAsync(f);

        SafeTensors.ReadHeader(copy).Where(t => t.Name.EndsWith(".weight")).ShouldAllBe(t => t.Dtype == dtype.ToString());
        SafeTensors.ReadMetadata(copy)["modelzoo.source_sha256"].ShouldBe(ResNetSha256);
        var expected = SafeTensors.Load(TestFixtures.PathOf(ResNetFixture));
        var actual = SafeTensors.Load(copy);
        actual.Keys.ShouldBe(expected.Keys, ignoreOrder: true);
        foreach (var (k, t) in expected) Same(actual[k], t).ShouldBeTrue(k);
        foreach (var t in expected.Values.Concat(actual.Values)) t.Dispose();
        Directory.EnumerateFiles(WeightsDir, ".tmp-*").ShouldBeEmpty("the export's temp file goes when its stream is closed");
    }

    /// <summary>Same dtype, shape and every element.</summary>
    internal static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var differs = a.ne(b);
        using var any = differs.any();
        return !any.item<bool>();
    }
}
