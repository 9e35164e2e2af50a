using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Tests.Weights;

public class FileWeightsInitializerTests
{
    static TrainingJob Job(string? weightsPath) => new(Guid.NewGuid(), new RunRequest { ModelId = "resnet18.test", DatasetId = "none" },
        new ModelManifest { Id = "resnet18.test", Architecture = "resnet18", Head = new HeadInfo { Classifier = "fc", NumClasses = 1000 } },
        new LoadedDataset(new DatasetInfo { Id = "none", Title = "none", ClassNames = ["a"] },
            new ImageSet { Width = 1, Height = 1, Channels = 1, Pixels = [], Labels = [], ClassNames = ["a"] }, new SplitIndices(0, [], [], [])),
        weightsPath, Path.GetTempPath());

    [Fact]
    public void Initialise_CopiesTheFilesBackbone_AndKeepsAHeadOfTheModelsSize()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(1000));
        var file = WeightsFile.Load(TestFixtures.PathOf("resnet18_seed7.safetensors"));

        new FileWeightsInitializer().Initialise(model, Job(TestFixtures.PathOf("resnet18_seed7.safetensors")));

        var state = model.state_dict();
        foreach (var key in file.Keys.Where(k => !k.StartsWith("fc.")))
            StateDicts.Same(state[key], file[key]).ShouldBeTrue(key);
        state["fc.weight"].shape.ShouldBe([1000L, 512], "the 10-class head of the file is not forced on the model");
        StateDicts.Dispose(file.Values);
    }

    [Fact]
    public void Initialise_LeavesTheModelAlone_WhenTheEntryHasNoImportedWeights()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(1000));
        var before = StateDicts.Snapshot(model);
        new FileWeightsInitializer().Initialise(model, Job(null));
        StateDicts.ShouldEqual(model.state_dict(), before);
        StateDicts.Dispose(before.Values);
    }

    [Fact]
    public void Initialise_Throws_WhenTheFileNoLongerFitsTheArchitecture()
    {
        using var model = ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(1000));
        Should.Throw<WeightsImportException>(() =>
            new FileWeightsInitializer().Initialise(model, Job(TestFixtures.PathOf("mobilenet_v2_seed7.safetensors"))))
            .Missing.ShouldContain("conv1.weight");
    }
}
