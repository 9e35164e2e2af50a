using ModelZoo.Core.Catalog;

namespace ModelZoo.Core.Tests.Catalog;

public class CompareSelectionTests
{
    static bool Known(string id) => !id.StartsWith("unknown", StringComparison.Ordinal);

    [Fact]
    public void TwoKnownIds_AreAccepted_InTheOrderGiven()
    {
        var s = CompareSelection.Parse("vgg16.tv, resnet18.tv", Known);
        s.Ok.ShouldBeTrue();
        s.Ids.ShouldBe(["vgg16.tv", "resnet18.tv"]);
    }

    [Theory]
    [InlineData(null, "at least 2")]
    [InlineData("", "at least 2")]
    [InlineData("a.b", "at least 2")]
    [InlineData("a.b,a.b", "at least 2")]
    [InlineData("a.1,a.2,a.3,a.4,a.5,a.6,a.7", "at most 6")]
    public void FewerThanTwoOrMoreThanSix_AreRefusedWithAMessage(string? ids, string message) =>
        CompareSelection.Parse(ids, Known).Error.ShouldNotBeNull().ShouldContain(message);

    [Fact]
    public void SixIds_AreTheMost() => CompareSelection.Parse("a.1,a.2,a.3,a.4,a.5,a.6", Known).Ok.ShouldBeTrue();

    [Fact]
    public void UnknownIds_AreNamed() =>
        CompareSelection.Parse("a.1,unknown.x", Known).Error.ShouldNotBeNull().ShouldContain("unknown.x");

    [Fact]
    public void Link_ListsTheIdsCommaSeparated() =>
        CompareSelection.Link(["resnet18.tv_in1k", "vgg16.tv_in1k"]).ShouldBe("/compare?ids=resnet18.tv_in1k,vgg16.tv_in1k");
}
