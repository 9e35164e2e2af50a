using ModelZoo.Infrastructure.Tests.Runs;
using Microsoft.Extensions.DependencyInjection;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Infrastructure.Weights;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests;
using ModelZoo.Torch.Training;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Infrastructure.Tests.Weights;

/// <summary>The whole path from an import to a trained run, with the real trainer and the real weights initializer.</summary>
public sealed class ImportedWeightsRunTests
{
    /// <summary>The real initializer, plus a copy of what the model's first convolution holds right after it ran.</summary>
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

    [Fact]
    public async Task ARun_OnAnEntryWithImportedWeights_StartsFromThem_AndItsCardNamesTheirSha256()
    {
        const string fixture = "resnet18_seed7.safetensors";
        using var zoo = new TestZoo();
        var id = zoo.Add("seed7", TestZoo.SafeTensors(fixture));
        var weights = new Recording(new FileWeightsInitializer());
        await using var host = new TestHost(new Trainer(ArchitectureRegistry.Default, weights),
            settings: new Dictionary<string, string?> { ["Storage:ZooDir"] = zoo.Dir });
        await host.StartAsync();

        WeightsImportResult imported;
        await using (var fs = File.OpenRead(TestFixtures.PathOf(fixture)))
            imported = await host.Services.GetRequiredService<WeightsImportService>().ImportAsync(id, fs, fixture);
        imported.Ok.ShouldBeTrue(imported.Error);

        var runs = host.Services.GetRequiredService<RunService>();
        var launch = await runs.LaunchAsync(new RunRequest
        {
            ModelId = id, DatasetId = "tiny",
            HyperParameters = new HyperParameters { Epochs = 1, BatchSize = 16, ImageSize = 16, LearningRate = 1e-3, Seed = 3 },
        });
        launch.Ok.ShouldBeTrue();
        var view = await runs.UntilEndAsync(launch.RunId!.Value);

        view.Status.ShouldBe(RunStatus.Succeeded, view.Error);
        weights.WeightsPath.ShouldBe(imported.Imported!.Path);
        var file = SafeTensors.Load(TestFixtures.PathOf(fixture));
        WeightsImportServiceTests.Same(weights.Conv1AfterInit!, file["conv1.weight"]).ShouldBeTrue("the backbone starts from the imported weights");
        view.CardMarkdown.ShouldNotBeNull().ShouldContain($"started from the imported weights of catalogue entry `{id}` (sha256 `{imported.Imported.Sha256}`)");
        view.CardMarkdown.ShouldNotContain("randomly initialised");
        foreach (var t in file.Values) t.Dispose();
        weights.Conv1AfterInit!.Dispose();
    }
}
