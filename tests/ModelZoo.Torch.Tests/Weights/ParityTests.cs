using ModelZoo.Torch.Weights;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>
/// Parity against the reference implementations through <see cref="ParityCheck"/>, the code path of the CLI's
/// <c>weights parity</c>. Architectures added later add one line here per fixture.
/// </summary>
public class ParityTests
{
    [Theory]
    [InlineData("resnet18", "resnet18_seed7.safetensors", "resnet18_seed7.io.safetensors", 10)]
    public void Parity_MatchesTheReferenceOutput(string arch, string weights, string io, int numClasses)
    {
        var result = ParityCheck.Run(new ParityRequest(arch, SharedFixtures.PathOf(weights), SharedFixtures.PathOf(io), numClasses));
        result.MaxAbsDiff.ShouldBeLessThan(ParityCheck.DefaultThreshold);
        result.Passed.ShouldBeTrue();
        result.WeightsSha256.Length.ShouldBe(64);
    }

    [Fact]
    public void Parity_TakesTheClassCountFromTheCheckpoint_WhenNoneIsGiven()
    {
        var result = ParityCheck.Run(new ParityRequest("resnet18",
            SharedFixtures.PathOf("resnet18_seed7.safetensors"), SharedFixtures.PathOf("resnet18_seed7.io.safetensors")));
        result.Shape.ShouldBe([2L, 10]);
        result.Passed.ShouldBeTrue();
    }

    [Fact]
    public void Parity_Fails_WhenTheThresholdIsTighterThanTheDifference()
    {
        var result = ParityCheck.Run(new ParityRequest("resnet18",
            SharedFixtures.PathOf("resnet18_seed7.safetensors"), SharedFixtures.PathOf("resnet18_seed7.io.safetensors"),
            Threshold: 0));
        (result.MaxAbsDiff > 0).ShouldBe(!result.Passed);
    }

    [Fact]
    public void Parity_RejectsWeightsOfAnotherArchitecture_BeforeRunning()
    {
        Should.Throw<WeightsImportException>(() => ParityCheck.Run(new ParityRequest("resnet18",
                SharedFixtures.PathOf("mobilenet_v2_seed7.safetensors"), SharedFixtures.PathOf("resnet18_seed7.io.safetensors"), 10)))
            .Message.ShouldContain("missing keys");
    }
}
