using ModelZoo.Core.Datasets;

namespace ModelZoo.Core.Tests.Datasets;

public class DomainPairSelectionTests
{
    [Fact]
    public void ClassMap_MatchesByName_AndDropsClassesThatAreNotShared()
    {
        DomainPairSelection.ClassMap("glyphs", ["0", "1", "A", "2"], ["0", "1", "2"]).ShouldBe([0, 1, -1, 2]);
        DomainPairSelection.ClassMap("m", ["2", "1", "0"], ["0", "1", "2"]).ShouldBe([2, 1, 0], "order follows the pair, not the dataset");
    }

    [Fact]
    public void ClassMap_NamesTheDatasetAndTheMissingClass()
    {
        Should.Throw<InvalidOperationException>(() => DomainPairSelection.ClassMap("optdigits", ["0", "1"], ["0", "1", "7"]))
            .Message.ShouldBe("Dataset 'optdigits' has no class '7', which the pair shares.");
    }

    [Fact]
    public void Select_KeepsSharedClassesOnly_Relabels_AndCanHideLabels()
    {
        var set = new ImageSet { Width = 1, Height = 1, Channels = 1, Pixels = [10, 20, 30, 40], Labels = [0, 2, 1, 2], ClassNames = ["0", "A", "1"] };
        var map = DomainPairSelection.ClassMap("s", set.ClassNames, ["0", "1"]);
        var (images, from) = DomainPairSelection.Select(set, [0, 1, 2, 3], map, ["0", "1"], side: 1);
        from.ShouldBe([0, 1, 3], "image 2 is an 'A'");
        images.Labels.ShouldBe([0, 1, 1]);
        images.Pixels.ShouldBe(new byte[] { 10, 20, 40 });
        DomainPairSelection.Select(set, [0, 1, 2, 3], map, ["0", "1"], 1, hideLabels: true).Images.Labels.ShouldBe([-1, -1, -1]);
    }

    [Fact]
    public void Resample_OfAConstantImage_IsConstant_AndUpsamplingKeepsTheCornersValues()
    {
        var flat = Enumerable.Repeat((byte)16 * 15, 64).Select(b => (byte)b).ToArray();
        var out28 = new byte[28 * 28];
        DomainPairSelection.Resample(flat, 8, 8, out28, 28);
        out28.ShouldAllBe(v => v == flat[0]);

        // A left half black, right half white 8x8 image: the resampled edge stays in the middle, monotone across it.
        var half = new byte[64];
        for (int y = 0; y < 8; y++) for (int x = 4; x < 8; x++) half[y * 8 + x] = 255;
        DomainPairSelection.Resample(half, 8, 8, out28, 28);
        out28[0].ShouldBe((byte)0);
        out28[27].ShouldBe((byte)255);
        for (int x = 1; x < 28; x++) out28[14 * 28 + x].ShouldBeGreaterThanOrEqualTo(out28[14 * 28 + x - 1]);
        (out28[14 * 28 + 13] + out28[14 * 28 + 14]).ShouldBeInRange(200, 310);
    }
}
