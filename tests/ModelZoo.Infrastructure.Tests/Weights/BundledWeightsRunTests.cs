using ModelZoo.Infrastructure.Tests.Runs;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Catalog;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Catalog;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Weights;

/// <summary>House weights shipped in the entry's folder: available with no import, used by runs, checked by hash.</summary>
public sealed class BundledWeightsRunTests
{
    const string Fixture = "resnet18_seed7.safetensors";

    sealed class Recording(IWeightsInitializer inner) : IWeightsInitializer
    {
        public Tensor? Conv1AfterInit;
        public string? WeightsPath;
        public IReadOnlyList<string> Initialise(ZooModel model, TrainingJob job)
        {
            var notes = inner.Initialise(model, job);
            WeightsPath = job.WeightsPath;
            Conv1AfterInit = model.state_dict()["conv1.weight"].detach().clone();
            return notes;
        }
    }

    /// <summary>An entry whose weights file lies in its own folder, described as bundled (sha256 and size given).</summary>
    static (string Id, string File) AddBundled(TestZoo zoo, string? sha256 = null, long? size = null) =>
        zoo.AddBundled(TestFixtures.PathOf(Fixture), sha256: sha256, size: size);

    static async Task<RunView> RunOn(TestHost host, string id)
    {
        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = id, DatasetId = "tiny",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, LearningRate = 1e-3, Seed = 3 },
        });
        launch.Ok.ShouldBeTrue();
        return await runs.UntilEndAsync(launch.RunId!.Value);
    }

    [Fact]
    public async Task ARun_OnAnEntryWithBundledWeights_StartsFromThem_WithNoImport_AndItsCardNamesTheirSha256()
    {
        using var zoo = new TestZoo();
        var (id, file) = AddBundled(zoo);
        var weights = new Recording(new FileWeightsInitializer());
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default, weights),
            settings: new Dictionary<string, string?> { ["Storage:ZooDir"] = zoo.Dir });
        await host.StartAsync();

        var catalog = host.Services.GetRequiredService<ZooCatalog>();
        catalog.Find(id)!.Weights.ShouldBe(WeightsAvailability.Bundled);
        catalog.ImportedWeightsOf(catalog.Find(id)!.Manifest).ShouldBeNull("nothing was imported");

        var view = await RunOn(host, id);
        view.Status.ShouldBe(RunStatus.Succeeded, view.Error);
        weights.WeightsPath.ShouldBe(file);
        var state = SafeTensors.Load(file);
        WeightsImportServiceTests.Same(weights.Conv1AfterInit!, state["conv1.weight"]).ShouldBeTrue("the backbone starts from the bundled weights");
        view.CardMarkdown.ShouldNotBeNull().ShouldContain($"house weights bundled with catalogue entry `{id}` (`model.safetensors`, sha256 `{Sha256.OfFile(file)}`)");
        view.CardMarkdown.ShouldNotContain("randomly initialised");
        foreach (var t in state.Values) t.Dispose();
        weights.Conv1AfterInit!.Dispose();
    }

    [Fact]
    public async Task ABundledFileWhoseHashDiffers_FailsTheRun_NamingTheFileAndBothHashes()
    {
        using var zoo = new TestZoo();
        var (id, file) = AddBundled(zoo, sha256: new string('a', 64));
        var weights = new Recording(new FileWeightsInitializer());
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default, weights),
            settings: new Dictionary<string, string?> { ["Storage:ZooDir"] = zoo.Dir });
        await host.StartAsync();

        var view = await RunOn(host, id);
        view.Status.ShouldBe(RunStatus.Failed);
        view.Error.ShouldNotBeNull().ShouldContain(file);
        view.Error.ShouldContain(new string('a', 64));
        weights.WeightsPath.ShouldBeNull("training never started");
    }

    [Fact]
    public async Task ABundledFileOfTheWrongSize_IsNotAvailable()
    {
        using var zoo = new TestZoo();
        var (id, _) = AddBundled(zoo, size: 123);
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default),
            settings: new Dictionary<string, string?> { ["Storage:ZooDir"] = zoo.Dir });
        await host.StartAsync();
        host.Services.GetRequiredService<ZooCatalog>().Find(id)!.Weights.ShouldBe(WeightsAvailability.ImportToEnable);
    }
}
