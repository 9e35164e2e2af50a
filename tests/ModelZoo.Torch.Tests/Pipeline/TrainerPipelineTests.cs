using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Tests.Training;
using ModelZoo.Torch.Training;

namespace ModelZoo.Torch.Tests.Pipeline;

[Collection(TorchGlobalRngCollection.Name)]
public class TrainerPipelineTests
{
    sealed class Losses : IRunProgress
    {
        public List<double> Steps { get; } = [];
        public void Status(StatusChange status) { }
        public void Step(StepProgress step) => Steps.Add(step.Loss);
        public void Epoch(EpochMetrics epoch) { }
    }

    static List<double> Train(bool augment)
    {
        var progress = new Losses();
        new Trainer(ArchitectureRegistry.Default).Train(
            TrainerTests.Job(new HyperParameters { Epochs = 1, BatchSize = 16, LearningRate = 1e-2, ImageSize = 16, Seed = 3, Augment = augment }),
            progress, CancellationToken.None);
        return progress.Steps;
    }

    [Fact]
    public void AugmentSwitch_ChangesTheTrainingBatches_AndEachSettingIsRepeatable()
    {
        var plain = Train(augment: false);
        var augmented = Train(augment: true);
        augmented.Count.ShouldBe(plain.Count);
        augmented.ShouldNotBe(plain);
        Train(augment: true).ShouldBe(augmented);
    }

    [Fact]
    public void AnImagesFileShorterThanItsFacts_FailsTheRun_NamingTheFile()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("mz-short-").FullName, "images.u8");
        File.WriteAllBytes(file, new byte[100]);
        var job = TrainerTests.Job(new HyperParameters { Epochs = 1, ImageSize = 16 });
        var images = job.Data.Images!;
        var streamed = new ImageSet
        {
            Width = images.Width, Height = images.Height, Channels = images.Channels, Pixels = [], PixelsFile = file,
            Labels = images.Labels, ClassNames = images.ClassNames,
        };
        var ex = Should.Throw<InvalidDataException>(() => new Trainer(ArchitectureRegistry.Default).Train(
            job with { Data = job.Data with { Images = streamed } }, new Losses(), CancellationToken.None));
        ex.Message.ShouldContain(file);
        ex.Message.ShouldContain("100 bytes");
        Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
    }
}
