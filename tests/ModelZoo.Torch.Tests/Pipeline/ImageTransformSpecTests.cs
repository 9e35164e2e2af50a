using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Pipeline;
using static ModelZoo.Torch.Tests.Pipeline.PipelineFixtures;

namespace ModelZoo.Torch.Tests.Pipeline;

public class ImageTransformSpecTests
{
    [Fact]
    public void RunSize_OverridesInputSize_AndScalesTheResizeByTheSameRatio()
    {
        var spec = ImageTransformSpec.From(ImageNet, runSize: 64);
        spec.InputSize.ShouldBe(64);
        spec.ResizeSize.ShouldBe(73, "256 * 64 / 224 = 73.1: the crop keeps 87.5 % of the side, as at 224");
        ImageTransformSpec.From(ImageNet, runSize: 0).ResizeSize.ShouldBe(256, "0 = the manifest's own sizes");
        ImageTransformSpec.From(ImageNet with { ResizeSize = null }, 64).ResizeSize.ShouldBe(64, "no resize_size: no crop");
    }

    [Fact]
    public void ResizeAndCrop_FollowTorchvisionsArithmetic()
    {
        var spec = ImageTransformSpec.From(ImageNet, 224);
        spec.ResizedShape(480, 640).ShouldBe((256, 341), "int(256 * 640 / 480) = 341, truncated");
        spec.ResizedShape(500, 333).ShouldBe((384, 256));
        ImageTransformSpec.CenterCropOffset(256, 341, 224).ShouldBe((16, 58), "round(58.5) = 58: halves go to even");
        ImageTransformSpec.CenterCropOffset(73, 73, 64).ShouldBe((4, 4), "round(4.5) = 4");
    }

    [Theory]
    [InlineData("lanczos")]
    [InlineData("none")]
    public void UnknownInterpolation_IsRefused_NamingIt(string name)
    {
        var ex = Should.Throw<ArgumentException>(() => ImageTransformSpec.From(ImageNet with { Interpolation = name }, 64));
        ex.Message.ShouldContain($"'{name}'");
    }

    [Fact]
    public void MissingMeanOrStd_IsRefused()
    {
        Should.Throw<ArgumentException>(() => ImageTransformSpec.From(new Preprocessing { Mean = [], Std = [] }, 64))
            .Message.ShouldContain("three mean");
    }

    /// <summary>
    /// A 2x2 grey image through resize 4 then centre crop 2, computed by hand: PyTorch's bilinear (align_corners
    /// false) samples output pixel i at source (i + 0.5) / 2 - 0.5, i.e. -0.25 (clamped to 0), 0.25, 0.75, 1.25
    /// (clamped to 1). The crop keeps pixels 1 and 2, whose weights are (0.75, 0.25) and (0.25, 0.75) per axis, so
    /// with [[0, 100], [200, 40]]: 58.75, 76.25 / 126.25, 78.75, rounded to bytes 59, 76 / 126, 79 (the cache holds
    /// bytes). Then grey to three channels and per-channel (v / 255 - mean) / std.
    /// </summary>
    [Theory]
    [InlineData("bilinear", new[] { 59, 76, 126, 79 })]
    [InlineData("nearest", new[] { 0, 100, 200, 40 })]
    public void EvalTransform_MatchesAHandComputedResizeAndCentreCrop(string interpolation, int[] expected)
    {
        using var data = new TempDataset();
        var images = InMemory([0, 100, 200, 40], 1, 1, 2);
        var pre = new Preprocessing { InputSize = 2, ResizeSize = 4, Interpolation = interpolation, Mean = [0.1, 0.2, 0.3], Std = [0.5, 0.25, 0.2] };
        using var pipeline = ImagePipeline.Create(images, new DatasetInfo { Id = "hand" }, pre, 0, TorchSharp.torch.CPU, Options(data.CacheDir));

        using var batch = pipeline.Batch([0], rng: null);
        batch.X.shape.ShouldBe([1, 3, 2, 2]);
        var got = Values(batch.X);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 4; p++)
                got[c * 4 + p].ShouldBe((float)((expected[p] / 255.0 - pre.Mean[c]) / pre.Std[c]), 1e-5, $"channel {c}, pixel {p}");
        batch.Y.data<long>().ToArray().ShouldBe([0L]);
    }

    [Fact]
    public void ColourImages_KeepTheirChannels_AndSizeMatchesTheSpec()
    {
        using var data = new TempDataset();
        var images = InMemory(Noise(5, 3, 28, 1), 5, 3, 28);
        using var pipeline = ImagePipeline.Create(images, new DatasetInfo { Id = "rgb" }, ImageNet, 32, TorchSharp.torch.CPU, Options(data.CacheDir));
        using var batch = pipeline.Batch([4, 0, 2], rng: null);
        batch.X.shape.ShouldBe([3, 3, 32, 32]);
        var x = Values(batch.X);
        // Channels differ in random colour images; a grey image expanded to three would make them equal.
        x.Take(32 * 32).ShouldNotBe(x.Skip(32 * 32).Take(32 * 32));
        batch.Y.data<long>().ToArray().ShouldBe([0L, 0L, 0L]);
    }
}
